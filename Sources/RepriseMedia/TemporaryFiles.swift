import CFFmpeg
import Glibc
import Synchronization

/// Temporary outputs in progress, removed if the process is interrupted (SIGINT/SIGTERM),
/// so nothing half-written is left beside the user's files.
///
/// What the signal handler reads must be async-signal-safe: no Swift arrays or sets (another
/// thread may be replacing and freeing them), no locks, no allocation. So every change builds a
/// new immutable C snapshot and publishes it with one atomic swap. The old snapshot is freed only
/// when no handler has started: a handler sets `handlerRunning` before it loads the snapshot, and
/// a writer swaps before it reads the flag (both sequentially consistent), so a writer that sees
/// the flag clear knows no handler can reach the old snapshot. Once a handler runs the process is
/// exiting, and old snapshots are simply left alone. (`@unchecked` only because raw pointers are
/// not Sendable: a published snapshot is never written again.)
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()

    private struct Registered { var paths: Set<String> = []; var folders: Set<String> = [] }
    // A pthread mutex (at a fixed address) rather than Synchronization.Mutex: ThreadSanitizer
    // sees pthread mutexes, not Mutex's futex, and would report every registration as a race.
    private let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    private var registered = Registered()

    /// One block: strdup'd file paths, NULL, strdup'd folder paths, NULL. Never changed once published.
    private typealias Snapshot = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    fileprivate let snapshot = Atomic<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>(nil)
    fileprivate let handlerRunning = Atomic<Bool>(false)

    private init() {}

    public func register(_ path: String) { change { _ = $0.paths.insert(path) } }
    public func unregister(_ path: String) { change { $0.paths.remove(path) } }
    /// A folder being built (e.g. a ladder before it is renamed into place), removed whole on a signal.
    public func registerFolder(_ path: String) { change { _ = $0.folders.insert(path) } }
    public func unregisterFolder(_ path: String) { change { $0.folders.remove(path) } }

    /// Applies `edit` and publishes the new snapshot; the lock keeps publications in order.
    private func change(_ edit: (inout Registered) -> Void) {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        edit(&registered)
        let old = snapshot.exchange(TemporaryFiles.makeSnapshot(registered), ordering: .sequentiallyConsistent)
        if let old, !handlerRunning.load(ordering: .sequentiallyConsistent) { TemporaryFiles.free(old) }
    }

    private static func makeSnapshot(_ r: Registered) -> Snapshot {
        let block = Snapshot.allocate(capacity: r.paths.count + r.folders.count + 2)
        var i = 0
        for p in r.paths { block[i] = strdup(p); i += 1 }
        block[i] = nil; i += 1
        for f in r.folders { block[i] = strdup(f); i += 1 }
        block[i] = nil
        return block
    }

    private static func free(_ block: Snapshot) {
        var i = 0, ends = 0
        while ends < 2 {
            if let p = block[i] { Glibc.free(p) } else { ends += 1 }
            i += 1
        }
        block.deallocate()
    }

    /// Installs handlers that delete registered temporaries and exit with 128+signal.
    public static func installSignalHandlers() {
        _ = shared  // initialised now, so the handler never runs the lazy initialiser
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in
                let files = TemporaryFiles.shared
                files.handlerRunning.store(true, ordering: .sequentiallyConsistent)
                if let block = files.snapshot.load(ordering: .sequentiallyConsistent) {
                    var i = 0
                    while let p = block[i] { unlink(p); i += 1 }
                    i += 1
                    while let f = block[i] { cff_remove_tree(f); i += 1 }
                }
                _exit(128 + s)
            }
        }
    }
}
