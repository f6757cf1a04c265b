import CFFmpeg
import Glibc

/// Temporary outputs in progress, removed if the process is interrupted (SIGINT/SIGTERM),
/// so nothing half-written is left beside the user's files.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private var lock = pthread_mutex_t()
    private var paths: Set<String> = []
    private var folders: Set<String> = []
    // Snapshot as C strings, readable from a signal handler without allocating.
    fileprivate var cPaths: [UnsafeMutablePointer<CChar>] = []
    fileprivate var cFolders: [UnsafeMutablePointer<CChar>] = []

    private init() { pthread_mutex_init(&lock, nil) }

    public func register(_ path: String) {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        paths.insert(path); rebuild()
    }
    public func unregister(_ path: String) {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        paths.remove(path); rebuild()
    }
    /// A folder being built (e.g. a ladder before it is renamed into place), removed whole on a signal.
    public func registerFolder(_ path: String) {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        folders.insert(path); rebuild()
    }
    public func unregisterFolder(_ path: String) {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        folders.remove(path); rebuild()
    }
    private func rebuild() {
        let old = cPaths + cFolders
        cPaths = paths.map { strdup($0)! }
        cFolders = folders.map { strdup($0)! }
        old.forEach { free($0) }
    }

    /// Installs handlers that delete registered temporaries and exit with 128+signal.
    public static func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in
                for p in TemporaryFiles.shared.cPaths { unlink(p) }
                for f in TemporaryFiles.shared.cFolders { cff_remove_tree(f) }
                _exit(128 + s)
            }
        }
    }
}
