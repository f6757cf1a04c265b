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
    /// The job store: nil for the SQLite file in the state folder; a path (another SQLite file) or
    /// `postgres://user@host:port/db` (the password from PGPASSWORD or a passfile, never here).
    public var store: String?
    /// This node's name in the store (nil: host:pid).
    public var node: String?
    public var role: Role = .all
    /// A claim's lease; renewed every third of it while the job runs.
    public var leaseSeconds: Double = 30
    /// How often the node tells the store it is alive (`reprise nodes` lists those heard from
    /// within three of these).
    public var heartbeatSeconds: Double = 5
    /// `transcode:PROFILE` jobs on recordings longer than this are split into chunks of it (a
    /// multiple of the profile's gop_seconds) that any worker may encode, one audio part and a
    /// stitch. nil: never split.
    public var chunkSeconds: Double?
    /// Where this node mounts the shared storage the configuration's and the store's paths name.
    public var pathMap = PathMap()
    /// The review console (`http:`); nil: no console.
    public var http: HTTP?
    public var source: String

    /// `http: {listen: 127.0.0.1:8470, token_file: /etc/reprise/console.token, max_body: 256k}`.
    public struct HTTP: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var tokenFile: String?
        public var maxBodyBytes: Int
        public init(host: String = "127.0.0.1", port: Int = 8470, tokenFile: String? = nil, maxBodyBytes: Int = 256 * 1024) {
            self.host = host; self.port = port; self.tokenFile = tokenFile; self.maxBodyBytes = maxBodyBytes
        }

        /// `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback); nil when it isn't one of those.
        public static func parseListen(_ text: String) -> (host: String, port: Int)? {
            var host: Substring, portText: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]; portText = text[text.index(after: colon)...]
                if host.contains(":") { return nil }
            }
            guard let port = Int(portText), (0...65535).contains(port) else { return nil }
            return (host.isEmpty ? "127.0.0.1" : String(host), port)
        }
    }

    /// What a daemon process does: watch folders and queue recordings, run jobs, or both.
    public enum Role: String, Sendable, CaseIterable {
        case all, worker, watcher
        public var watches: Bool { self != .worker }
        public var works: Bool { self != .watcher }
    }

    public init(watches: [Watch], source: String) { self.watches = watches; self.source = source }

    /// The forms a recording may get.
    public static let formKinds = ["shorts", "highlights", "transcode:PROFILE", "ladder:NAME"]
}

/// Reads the daemon configuration; every problem names the file, the line and the field.
public enum DaemonConfigLoader {
    public static func load(path: String) throws -> DaemonConfig {
        let r = try ProfileReader.open(path: path, what: "settings")
        try r.rejectUnknown(["state_dir", "workers", "quiet_seconds", "rescan_seconds", "sidecar_grace_seconds", "disk_reserve",
                             "stall_minutes", "max_attempts", "retention_days", "profile_dirs", "watch",
                             "store", "node", "role", "lease_seconds", "heartbeat_seconds", "path_map", "chunk_seconds", "http"])
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
        if let store = try r.string("store") {
            if let problem = storeProblem(store) { throw r.error("store", r.node("store"), problem) }
            config.store = store
        }
        config.node = try r.string("node")
        if let node = config.node, node.isEmpty { throw r.error("node", r.node("node"), "empty (leave it out for host:pid)") }
        config.role = try r.choice("role", DaemonConfig.Role.self) ?? config.role
        config.leaseSeconds = try r.number("lease_seconds", range: 2...3600) ?? config.leaseSeconds
        config.heartbeatSeconds = try r.number("heartbeat_seconds", range: 0.5...600) ?? config.heartbeatSeconds
        config.chunkSeconds = try r.number("chunk_seconds", range: 1...86400)
        if config.heartbeatSeconds >= config.leaseSeconds {
            throw r.error("heartbeat_seconds", r.node("heartbeat_seconds") ?? r.node("lease_seconds"),
                          "\(config.heartbeatSeconds) must be shorter than lease_seconds (\(config.leaseSeconds))")
        }
        if let http = r.node("http") {
            guard let m = http.mapping else { throw r.error("http", http, "expected a mapping (listen, token_file, max_body)") }
            let h = ProfileReader(file: path, mapping: m, prefix: "http.")
            try h.rejectUnknown(["listen", "token_file", "max_body"])
            var settings = DaemonConfig.HTTP()
            if let listen = try h.string("listen") {
                guard let (host, port) = DaemonConfig.HTTP.parseListen(listen) else {
                    throw h.error("listen", h.node("listen"), "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8470)")
                }
                settings.host = host; settings.port = port
            }
            if let file = try h.string("token_file") {
                guard file.hasPrefix("/") else { throw h.error("token_file", h.node("token_file"), "'\(file)' is not an absolute path") }
                settings.tokenFile = file
            }
            if let limit = try h.bitrate("max_body") {
                guard limit >= 1024, limit <= 64 << 20 else { throw h.error("max_body", h.node("max_body"), "must be from 1k to 64M") }
                settings.maxBodyBytes = Int(limit)
            }
            config.http = settings
        }
        if let map = r.node("path_map") {
            guard let seq = map.sequence else { throw r.error("path_map", map, "expected a list of {from, to}") }
            var entries: [PathMap.Entry] = []
            for (n, item) in seq.enumerated() {
                guard let m = item.mapping else { throw r.error("path_map[\(n)]", item, "expected a mapping (from, to)") }
                let e = ProfileReader(file: path, mapping: m, prefix: "path_map[\(n)].")
                try e.rejectUnknown(["from", "to"])
                var pair: [String] = []
                for key in ["from", "to"] {
                    guard let p = try e.string(key) else { throw e.error(key, item, "missing") }
                    guard p.hasPrefix("/") else { throw e.error(key, e.node(key), "'\(p)' is not an absolute path") }
                    pair.append(p)
                }
                entries.append(.init(from: pair[0], to: pair[1]))
            }
            config.pathMap = PathMap(entries)
        }
        return config
    }

    /// Why `store` can't name a job store, or nil. A PostgreSQL URL must not carry a password:
    /// configuration files are read by many, the password comes from PGPASSWORD or a passfile.
    public static func storeProblem(_ store: String) -> String? {
        if store.isEmpty { return "empty (leave it out for the SQLite file in state_dir)" }
        let lower = store.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            // A host, or a unix socket folder in `?host=/run/postgresql`.
            guard let url = URLComponents(string: store),
                  !(url.host ?? "").isEmpty || (url.queryItems ?? []).contains(where: { $0.name == "host" && !($0.value ?? "").isEmpty }) else {
                return "'\(redactedStore(store))' is not a URL such as postgres://reprise@db.example:5432/reprise"
            }
            if url.password != nil {
                return "the URL holds a password; give it in PGPASSWORD or a passfile (~/.pgpass), never in this file"
            }
            return nil
        }
        if store.contains("://") { return "'\(redactedStore(store))': only postgres:// URLs or a SQLite file path" }
        guard store.hasPrefix("/") else { return "'\(store)' is not an absolute path to a SQLite file" }
        return nil
    }

    /// The store as it may be printed: a password in it (refused anyway) shown as ***. The last
    /// '@' ends the user part, as an unescaped '@' in a password would come before it.
    public static func redactedStore(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    public static func isForm(_ s: String) -> Bool {
        if s == "shorts" || s == "highlights" { return true }
        for prefix in ["transcode:", "ladder:"] where s.hasPrefix(prefix) && s.count > prefix.count { return true }
        return false
    }
}
