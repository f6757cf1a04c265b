import Foundation

/// The folders a request may name files in (watch folders, outputs, quarantine, done). A path is
/// resolved, symlinks included, before it is checked: `../` and a link out of a root both land
/// outside and are refused. Messages never echo the server's paths back.
public struct PathRoots: Sendable {
    public let roots: [String]

    public init(_ folders: [String]) {
        roots = folders.map { PathRoots.resolved($0) ?? URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    /// The real path of `path` inside a root; 403 outside, 404 when it doesn't exist.
    public func resolve(_ path: String) throws -> String {
        guard path.hasPrefix("/"), !path.contains("\0") else { throw ConsoleError(.badRequest, "path must be absolute") }
        // Outside lexically: refused before the filesystem is asked anything.
        guard contains(URL(fileURLWithPath: path).standardizedFileURL.path) else {
            throw ConsoleError(.forbidden, "path is outside the console's folders")
        }
        guard let real = PathRoots.resolved(path) else { throw ConsoleError(.notFound, "no such file") }
        guard contains(real) else { throw ConsoleError(.forbidden, "path is outside the console's folders") }
        return real
    }

    public func contains(_ path: String) -> Bool {
        roots.contains { root in path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
    }

    static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
