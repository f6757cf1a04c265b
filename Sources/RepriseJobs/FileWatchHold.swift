import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The watcher role for one folder on one machine: an exclusive `flock` on a file named after the
/// folder. The kernel drops it when the holder dies, so a standby's next `take` succeeds.
final class FileWatchHold: WatchHold, @unchecked Sendable {
    let folder: String
    private let lock = NSLock()
    private var fd: Int32

    private init(folder: String, fd: Int32) { self.folder = folder; self.fd = fd }

    static func take(folder: String, lockFolder: String) throws -> FileWatchHold? {
        // The folder's path, made a file name: '/' can't be in one.
        let name = "watch" + folder.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F") + ".lock"
        let path = (lockFolder as NSString).appendingPathComponent(name)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JobStoreError("\(path): cannot open the watch lock: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
        return FileWatchHold(folder: folder, fd: fd)
    }

    var isHeld: Bool { lock.withLock { fd >= 0 } }

    func release() {
        lock.withLock {
            if fd >= 0 { close(fd); fd = -1 }
        }
    }

    deinit { release() }
}
