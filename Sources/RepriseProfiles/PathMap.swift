import Foundation

/// One node's view of shared storage. Paths in the configuration and the job store are canonical
/// (the `from` form, the same on every node); this node reads and writes them under `to`. Pure:
/// prefixes match whole path components, the longest one wins, unmapped paths pass unchanged.
public struct PathMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var from: String
        public var to: String
        public init(from: String, to: String) { self.from = PathMap.trimmed(from); self.to = PathMap.trimmed(to) }
    }

    public var entries: [Entry]
    public init(_ entries: [Entry] = []) { self.entries = entries }

    /// Where this node finds a canonical path.
    public func local(_ canonical: String) -> String { Self.rewrite(canonical, entries.map { ($0.from, $0.to) }) }

    /// The canonical form of a path as this node sees it.
    public func canonical(_ local: String) -> String { Self.rewrite(local, entries.map { ($0.to, $0.from) }) }

    static func rewrite(_ path: String, _ pairs: [(String, String)]) -> String {
        var best: (prefix: String, replacement: String)?
        for (prefix, replacement) in pairs where Self.isUnder(path, prefix) {
            if best == nil || prefix.count > best!.prefix.count { best = (prefix, replacement) }
        }
        guard let best else { return path }
        let rest = path.dropFirst(best.prefix.count)
        if best.prefix == "/" { return best.replacement == "/" ? path : best.replacement + "/" + rest }
        return best.replacement == "/" && rest.hasPrefix("/") ? String(rest) : best.replacement + rest
    }

    /// `path` is `prefix` or inside it ("/srv/a" is not under "/srv/ab").
    static func isUnder(_ path: String, _ prefix: String) -> Bool {
        if prefix == "/" { return path.hasPrefix("/") }
        return path == prefix || path.hasPrefix(prefix + "/")
    }

    /// Without trailing slashes ("/" stays "/").
    static func trimmed(_ p: String) -> String {
        var s = p
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
