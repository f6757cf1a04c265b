import CFFmpeg
import Foundation
import Glibc

/// A job process the daemon started dies with its daemon, kill -9 included. A killed daemon's
/// claim can't publish anything, but its child would go on encoding: CPU taken from the node's
/// next jobs, and files written into a staging folder another attempt is about to clean.
///
/// The daemon names itself in `REPRISE_DAEMON_CHILD` (its pid) when it starts a job; the job asks
/// the kernel for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`), then looks whether that
/// parent is still the daemon: a daemon that died before the request took effect has already
/// handed the child to a reaper, and the kernel would never send the signal. SIGKILL, not SIGTERM:
/// nothing has to be tidied that the next attempt does not tidy (its staging folder is removed
/// whole), and no handler, blocked signal or busy cleanup can keep the child alive.
///
/// The kernel sends the signal when the *thread* that started the child ends: the daemon starts
/// jobs from worker threads that live as long as it does.
enum DaemonChildLifeline {
    /// Set by the daemon (`JobRunner`) for its children: its own pid.
    static let variable = "REPRISE_DAEMON_CHILD"

    /// Binds this process's life to the daemon's when the daemon started it; nothing otherwise.
    static func bind(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let daemon = environment[variable].flatMap(Int32.init) else { return }
        _ = cff_set_parent_death_signal(SIGKILL)
        if getppid() != daemon {
            FileHandle.standardError.write(Data("reprise: error: the daemon that started this job (pid \(daemon)) is gone; not starting\n".utf8))
            Foundation.exit(1)
        }
    }
}
