import Foundation

/// Decides when a dropped file is complete: it must be a recording (by extension, not a
/// temporary name), and its size and mtime must stay unchanged for the quiet period. Pure state:
/// fed observations with their time, it answers which files are ready. Tested without I/O.
public struct ArrivalTracker: Sendable {
    public struct Observation: Sendable, Equatable {
        public var size: Int64
        public var modified: Double
        public init(size: Int64, modified: Double) { self.size = size; self.modified = modified }
    }
    struct Seen { var observation: Observation; var since: Double; var handed: Bool }

    public let quietSeconds: Double
    private var files: [String: Seen] = [:]

    public init(quietSeconds: Double) { self.quietSeconds = quietSeconds }

    public static let recordingExtensions: Set<String> = ["mp4", "m4v", "mov", "mkv", "flv", "ts", "mts", "m2ts"]

    /// Whether a name can be a finished recording: not hidden, not a partial download or an
    /// editor's backup, and a recording's extension.
    public static func isCandidate(name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") { return false }
        let lower = name.lowercased()
        for partial in [".part", ".tmp", ".partial", ".crdownload", ".download", ".temp"] where lower.hasSuffix(partial) { return false }
        let ext = (lower as NSString).pathExtension
        return recordingExtensions.contains(ext)
    }

    /// Records what a file looks like now. Returns true when it has just become ready (once).
    public mutating func observe(_ path: String, _ o: Observation, now: Double) -> Bool {
        guard var seen = files[path] else {
            files[path] = Seen(observation: o, since: now, handed: false)
            return quietSeconds <= 0 ? markHanded(path) : false
        }
        if seen.observation != o {
            // Changed (still being written, or replaced): start the quiet period again.
            seen = Seen(observation: o, since: now, handed: false)
            files[path] = seen
            return false
        }
        guard !seen.handed, now - seen.since >= quietSeconds else { return false }
        return markHanded(path)
    }

    private mutating func markHanded(_ path: String) -> Bool {
        files[path]?.handed = true
        return true
    }

    /// The file is gone (moved away, deleted): forget it.
    public mutating func forget(_ path: String) { files[path] = nil }

    /// A handed file whose job could not start yet (e.g. it failed to probe while still being
    /// copied): look at it again from scratch.
    public mutating func reconsider(_ path: String) { files[path] = nil }

    /// Files seen but not yet ready, with how long until they may be.
    public func waiting(now: Double) -> [(path: String, remaining: Double)] {
        files.filter { !$0.value.handed }.map { ($0.key, max(0, quietSeconds - (now - $0.value.since))) }
    }
}
