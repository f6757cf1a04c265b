import Foundation
import Yams

/// The watch-folder daemon's configuration (`/etc/reprise/reprise.yaml`, see systemd/reprise.yaml).
public struct DaemonConfig: Sendable, Equatable {
    public struct Watch: Sendable, Equatable {
        /// Recordings are dropped here.
        public var folder: String
        /// Each recording's outputs go to `output/<recording name>/`.
        public var output: String
        /// What each recording becomes: job kinds such as `transcode:long-form-720p`,
        /// `ladder:default`, `shorts`, `highlights` (see `forms` in the README).
        public var forms: [String]
        /// The highlights recipe for the `shorts` and `highlights` forms.
        public var recipe: String
        /// Where inputs that can't be processed go, with a `.error.txt`.
        public var quarantine: String
        /// Where a recording is moved once every job for it is done (nil: it stays).
        public var done: String?
        public init(folder: String, output: String, forms: [String], recipe: String = "default", quarantine: String, done: String? = nil) {
            self.folder = folder; self.output = output; self.forms = forms; self.recipe = recipe; self.quarantine = quarantine; self.done = done
        }
    }

    public var watches: [Watch]
    /// Job store, logs of jobs, work files.
    public var stateDirectory: String = "/var/lib/reprise"
    public var workers: Int = 1
    /// A file counts as complete when its size and mtime have not changed for this long (and it probes).
    public var quietSeconds: Double = 10
    /// A full rescan of every watch folder, for events inotify missed and files present at start.
    public var rescanSeconds: Double = 60
    /// How long a recording waits for its chat/orders/products files before highlights start without them.
    public var sidecarGraceSeconds: Double = 30
    /// Free space kept on the output filesystem (bytes); a job that would eat into it waits and fails clearly.
    public var diskReserve: Int64 = 2_000_000_000
    /// A job with no progress for this long is stopped and retried.
    public var stallSeconds: Double = 900
    public var maxAttempts: Int = 3
    /// Finished jobs older than this are dropped from the store (outputs stay).
    public var retentionDays: Double = 30
    /// Extra profile folders (as --profile-dir).
    public var profileFolders: [String] = []
    public var source: String

    public init(watches: [Watch], source: String) { self.watches = watches; self.source = source }

    /// The forms a recording may get.
    public static let formKinds = ["shorts", "highlights", "transcode:PROFILE", "ladder:NAME"]
}

/// Reads the daemon configuration; every problem names the file, the line and the field.
public enum DaemonConfigLoader {
    public static func load(path: String) throws -> DaemonConfig {
        let r = try ProfileReader.open(path: path, what: "settings")
        try r.rejectUnknown(["state_dir", "workers", "quiet_seconds", "rescan_seconds", "sidecar_grace_seconds", "disk_reserve",
                             "stall_minutes", "max_attempts", "retention_days", "profile_dirs", "watch"])
        guard let list = r.node("watch") else { throw r.error("watch", nil, "missing (a list of folder, output, forms)") }
        guard let items = list.sequence, !items.isEmpty else { throw r.error("watch", list, "expected a list of watch folders") }
        var watches: [DaemonConfig.Watch] = []
        for (n, item) in items.enumerated() {
            guard let m = item.mapping else { throw r.error("watch[\(n)]", item, "expected a mapping (folder, output, forms…)") }
            let w = ProfileReader(file: path, mapping: m, prefix: "watch[\(n)].")
            try w.rejectUnknown(["folder", "output", "forms", "recipe", "quarantine", "done"])
            guard let folder = try w.string("folder") else { throw w.error("folder", item, "missing") }
            guard let output = try w.string("output") else { throw w.error("output", item, "missing") }
            guard let formsNode = w.node("forms"), let seq = formsNode.sequence, !seq.isEmpty else {
                throw w.error("forms", w.node("forms") ?? item, "missing (a list such as [shorts, highlights, transcode:long-form-720p, ladder:default])")
            }
            var forms: [String] = []
            for f in seq {
                guard let s = f.string, isForm(s) else {
                    throw w.error("forms", f, "'\(f.string ?? "?")' is not one of: \(DaemonConfig.formKinds.joined(separator: ", "))")
                }
                forms.append(s)
            }
            let quarantine = try w.string("quarantine") ?? (folder as NSString).appendingPathComponent(".quarantine")
            watches.append(.init(folder: folder, output: output, forms: forms, recipe: try w.string("recipe") ?? "default",
                                 quarantine: quarantine, done: try w.string("done")))
        }
        var config = DaemonConfig(watches: watches, source: path)
        config.stateDirectory = try r.string("state_dir") ?? config.stateDirectory
        config.workers = try r.integer("workers", range: 1...64) ?? config.workers
        config.quietSeconds = try r.number("quiet_seconds", range: 0...3600) ?? config.quietSeconds
        config.rescanSeconds = try r.number("rescan_seconds", range: 1...86400) ?? config.rescanSeconds
        config.sidecarGraceSeconds = try r.number("sidecar_grace_seconds", range: 0...3600) ?? config.sidecarGraceSeconds
        if let reserve = try r.bitrate("disk_reserve") { config.diskReserve = Int64(reserve) }
        config.stallSeconds = (try r.number("stall_minutes", range: 0.05...1440)).map { $0 * 60 } ?? config.stallSeconds
        config.maxAttempts = try r.integer("max_attempts", range: 1...100) ?? config.maxAttempts
        config.retentionDays = try r.number("retention_days", range: 0...36500) ?? config.retentionDays
        if let dirs = r.node("profile_dirs") {
            guard let seq = dirs.sequence else { throw r.error("profile_dirs", dirs, "expected a list of folders") }
            config.profileFolders = seq.compactMap(\.string)
        }
        return config
    }

    public static func isForm(_ s: String) -> Bool {
        if s == "shorts" || s == "highlights" { return true }
        for prefix in ["transcode:", "ladder:"] where s.hasPrefix(prefix) && s.count > prefix.count { return true }
        return false
    }
}
