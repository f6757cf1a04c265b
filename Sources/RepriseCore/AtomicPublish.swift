import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way anything appears under its final name: written under a hidden temporary name
/// beside it (`.NAME.partial-PID`), flushed to disk — the file, then its folder —, and renamed
/// into place. A crash leaves the old file (or none) under the final name, never half of one.
public enum AtomicPublish {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    private static func failure(_ path: String) -> Failure { Failure(path: path, reason: String(cString: strerror(errno))) }

    /// The hidden temporary name beside `path`, ending in its extension (some writers choose the
    /// format by it): `.NAME.EXT.partial-PID.EXT`.
    public static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let ext = name.lastIndex(of: ".").map { String(name[$0...]) } ?? ""
        return "\(dir).\(name).partial-\(getpid())\(ext)"
    }

    /// Flushes a file or a folder (its entries) to disk.
    public static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path) }
        defer { close(fd) }
        // Some file systems can't sync a folder (EINVAL): its entries are as safe as they get there.
        if fsync(fd) != 0 && errno != EINVAL { throw failure(path) }
    }

    /// Flushes every file under `folder`, then every folder, bottom up.
    public static func syncTree(_ folder: String) throws {
        var folders = [folder]
        if let walker = FileManager.default.enumerator(atPath: folder) {
            while let relative = walker.nextObject() as? String {
                let full = (folder as NSString).appendingPathComponent(relative)
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), isFolder.boolValue {
                    folders.append(full)
                } else {
                    try sync(full)
                }
            }
        }
        for f in folders.reversed() { try sync(f) }
    }

    /// Publishes a finished temporary file or folder: flushed, renamed over `final`, folder flushed.
    public static func rename(_ temporary: String, to final: String) throws {
        try sync(temporary)
        guard Glibc.rename(temporary, final) == 0 else { throw failure(final) }
        try sync((final as NSString).deletingLastPathComponent.isEmpty ? "." : (final as NSString).deletingLastPathComponent)
    }

    /// Writes `data` under a temporary name beside `path` and publishes it. `tracking` is told the
    /// temporary name before writing (true) and after (false), so a signal handler can remove it.
    public static func write(_ data: Data, to path: String, tracking: ((String, Bool) -> Void)? = nil) throws {
        let temporary = temporaryName(for: path)
        tracking?(temporary, true)
        defer { tracking?(temporary, false) }
        do {
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw failure(path) }
            var written = 0
            var error: Failure? = nil
            data.withUnsafeBytes { raw in
                while written < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                    if n < 0 { if errno == EINTR { continue }; error = failure(path); return }
                    written += n
                }
            }
            if close(fd) != 0 && error == nil { error = failure(path) }
            if let error { throw error }
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Puts the finished folder `work` at `final`, replacing an older one whole: the old one is
    /// moved aside first and removed after, so `final` always holds a complete folder or none.
    public static func replaceFolder(_ final: String, with work: String) throws {
        try syncTree(work)
        let fm = FileManager.default
        var aside: String? = nil
        if fm.fileExists(atPath: final) {
            let url = URL(fileURLWithPath: final)
            let old = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).old-\(getpid())").path
            try? fm.removeItem(atPath: old)
            guard Glibc.rename(final, old) == 0 else { throw failure(final) }
            aside = old
        }
        do {
            try rename(work, to: final)
        } catch {
            if let aside { _ = Glibc.rename(aside, final) }
            throw error
        }
        if let aside { try? fm.removeItem(atPath: aside) }
    }

    /// Moves a file on one file system without ever replacing one (link, then unlink), and
    /// flushes both folders. False if `to` exists or the link can't be made.
    public static func moveWithoutReplacing(_ from: String, to: String) -> Bool {
        guard link(from, to) == 0 else { return false }
        unlink(from)
        try? sync((to as NSString).deletingLastPathComponent)
        try? sync((from as NSString).deletingLastPathComponent)
        return true
    }
}
