/// Receives progress from long operations. Implementations decide how to show it.
public protocol ProgressReporter: AnyObject {
    /// `fraction` in 0…1 of the named stage.
    func update(stage: String, fraction: Double)
    /// A one-line note for the user (a fallback, a damaged tail…).
    func note(_ message: String)
}
