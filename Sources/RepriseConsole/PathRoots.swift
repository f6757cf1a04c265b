import Foundation

/// The folders a request may name files in (watch folders, outputs, quarantine, done). A path is
/// resolved, symlinks included, before it is checked: `../` and a link out of a root both land
/// outside and are refused. A root may itself lie behind a symlink (`/srv` → `/data`): paths are
/// matched against both its written and its resolved form. Messages never echo server paths.
public struct PathRoots: Sendable {
    /// The roots resolved (what a resolved path must lie in).
    public let roots: [String]
    /// The roots as configured, standardised (what store paths and requests are written against).
    let written: [String]

    public init(_ folders: [String]) {
        written = folders.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        roots = zip(folders, written).map { PathRoots.resolved($0) ?? $1 }
    }

    /// The real path of `path` inside a root; 403 outside, 404 when it doesn't exist.
    public func resolve(_ path: String) throws -> String {
        try checkWritten(path)
        guard let real = PathRoots.resolved(path) else { throw ConsoleError(.notFound, "no such file") }
        guard PathRoots.within(real, roots) else { throw ConsoleError(.forbidden, "path is outside the console's folders") }
        return real
    }

    /// Opens `path` for reading, then checks the file actually opened (its /proc/self/fd link) lies
    /// inside a root: nothing can swap a folder for a symlink between the check and the read.
    public func open(_ path: String) throws -> OpenedFile {
        try checkWritten(path)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConsoleError(.notFound, "no such file") }
        let file = OpenedFile(fd: fd)
        guard let real = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
              PathRoots.within(real, roots) else { throw ConsoleError(.forbidden, "path is outside the console's folders") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw ConsoleError(.notFound, "no such file") }
        file.size = Int(st.st_size)
        return file
    }

    /// Lexically inside a root (as written or resolved): checked before the filesystem is asked.
    func checkWritten(_ path: String) throws {
        guard path.hasPrefix("/"), !path.contains("\0") else { throw ConsoleError(.badRequest, "path must be absolute") }
        guard contains(URL(fileURLWithPath: path).standardizedFileURL.path) else {
            throw ConsoleError(.forbidden, "path is outside the console's folders")
        }
    }

    /// A path as written (e.g. an output the store names) inside a root.
    public func contains(_ path: String) -> Bool { PathRoots.within(path, written) || PathRoots.within(path, roots) }

    static func within(_ path: String, _ folders: [String]) -> Bool {
        folders.contains { root in path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
    }

    static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

/// A file opened for a response; closed when the last reference goes (also when the response is
/// dropped unsent).
public final class OpenedFile: @unchecked Sendable {
    public let fd: Int32
    public internal(set) var size = 0
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n >= 0 else { throw ConsoleError(.internalServerError, "read failed") }
        buffer.removeLast(count - n)
        return buffer
    }
}
