// The shared vocabulary (CutError, TimeSpec, ProgressReporter, InputChecks) comes with the cut
// engine for its clients.
@_exported import RepriseCore
