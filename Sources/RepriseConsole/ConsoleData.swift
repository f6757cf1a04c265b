import Foundation
import NIOPosix
import RepriseDaemon
import RepriseHighlights
import RepriseJobs
import RepriseProfiles

/// What the console reads and changes, over the daemon's job store. The store's calls block, so
/// every one runs on NIO's thread pool, never on the server's event loops or Swift's
/// cooperative threads.
public final class ConsoleData: Sendable {
    public let store: any JobStore
    public let progress: JobProgressBoard
    public let roots: PathRoots
    /// The store names paths as every node does (canonical); the console shows and serves them
    /// where this node mounts them.
    public let pathMap: PathMap
    /// Nodes count as alive when heard from within this long.
    let nodeWindow: TimeInterval

    public init(store: any JobStore, progress: JobProgressBoard, roots: PathRoots, pathMap: PathMap = PathMap(), nodeWindow: TimeInterval = 15) {
        self.store = store; self.progress = progress; self.roots = roots; self.pathMap = pathMap; self.nodeWindow = nodeWindow
    }

    /// A job with its paths as this node sees them.
    func local(_ job: Job) -> Job {
        var j = job
        j.input.path = pathMap.local(job.input.path)
        j.outputs = job.outputs.map(pathMap.local)
        return j
    }

    /// Newest first, `admits` applied, until `limit` match: the store is asked for more rows (×4
    /// each time) while too few of those it gave matched, so a narrow filter misses nothing.
    func newest(states: Set<Job.State>?, limit: Int, admits: @escaping @Sendable (Job) -> Bool) async throws -> [Job] {
        try await blocking { [store] in
            var fetch = max(limit, 100)
            while true {
                let rows = try store.jobs(states: states, limit: fetch)
                let matched = rows.filter(admits)
                if matched.count >= limit || rows.count < fetch || fetch >= 4_000_000 { return Array(matched.prefix(limit)) }
                fetch *= 4
            }
        }
    }

    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    public func jobs(_ filter: JobFilter) async throws -> [JobView] {
        let board = try await progressBoard(), now = Date(), map = pathMap
        return try await newest(states: filter.states, limit: filter.limit) { filter.admits(job: $0, localPath: map.local($0.input.path)) }
            .map { JobView(local($0), progress: board.entry(for: $0), now: now) }
    }

    public func job(_ id: Int64) async throws -> (job: JobView, parts: [JobView]) {
        let board = try await progressBoard()
        return try await blocking { [store] in
            guard let job = try store.job(id) else { throw ConsoleError(.notFound, "no job \(id)") }
            let parts = try store.children(of: id).map { JobView(self.local($0), progress: board.entry(for: $0)) }
            return (JobView(self.local(job), progress: board.entry(for: job)), parts)
        }
    }

    /// Running jobs' progress: this node's own, as its children say it, and other nodes' from
    /// their latest heartbeat (a job's taken only from the node the store says runs it).
    struct ProgressSources: Sendable {
        var local: [Int64: JobProgressBoard.Entry]
        /// Job → node → what that node reported.
        var reported: [Int64: [String: JobProgressBoard.Entry]]
        func entry(for job: Job) -> JobProgressBoard.Entry? {
            if let own = local[job.id] { return own }
            // Not an earlier attempt's (a retry on the same node, before its next heartbeat).
            guard let node = job.node, let entry = reported[job.id]?[node],
                  entry.startedAt >= (job.startedAt ?? .distantPast).addingTimeInterval(-1) else { return nil }
            return entry
        }
    }

    func progressBoard() async throws -> ProgressSources {
        let local = progress.all()
        let since = Date().addingTimeInterval(-nodeWindow)
        // Other nodes' progress is extra: without it (the store's node list failing) the jobs still show.
        let nodes = (try? await blocking { [store] in try store.nodes(seenSince: since) }) ?? []
        var reported: [Int64: [String: JobProgressBoard.Entry]] = [:]
        for node in nodes {
            for r in node.progress {
                reported[r.job, default: [:]][node.name] = r
            }
        }
        return ProgressSources(local: local, reported: reported)
    }

    public func counts() async throws -> [String: Int] {
        try await blocking { [store] in
            Dictionary(uniqueKeysWithValues: try store.counts().map { ($0.key.rawValue, $0.value) })
        }
    }

    public func retry(_ id: Int64) async throws -> JobView {
        try await blocking { [store] in
            guard try store.job(id) != nil else { throw ConsoleError(.notFound, "no job \(id)") }
            do { return JobView(self.local(try store.retry(id)), progress: nil) } catch let e as JobStoreError {
                throw ConsoleError(.conflict, e.description)
            }
        }
    }

    public func cancel(_ id: Int64) async throws -> JobView {
        try await blocking { [store] in
            guard try store.job(id) != nil else { throw ConsoleError(.notFound, "no job \(id)") }
            do { return JobView(self.local(try store.cancel(id, now: Date())), progress: nil) } catch let e as JobStoreError {
                throw ConsoleError(.conflict, e.description)
            }
        }
    }

    /// Nodes heard from lately, as the store keeps them (`NodeStatus` is the API's `Node`).
    public func nodes() async throws -> [NodeStatus] {
        let since = Date().addingTimeInterval(-nodeWindow)
        return try await blocking { [store] in try store.nodes(seenSince: since) }
    }

    /// The newest `limit` recordings: every top-level job of an input, grouped (a recording has a
    /// handful of forms, so 8 jobs a recording are read).
    public func recordings(limit: Int = 200) async throws -> [RecordingView] {
        let jobs = try await newest(states: nil, limit: min(limit * 8, 80_000)) { $0.parentID == nil }.map(local)
        var order: [String] = [], grouped: [String: [Job]] = [:]
        for job in jobs {
            let key = job.input.path + "\u{0}" + job.input.hash
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(job)
        }
        return order.prefix(limit).map { RecordingView(jobs: grouped[$0]!.sorted { $0.id < $1.id }) }
    }

    /// One recording by its path as this node sees it (inside the roots): its jobs, outputs and
    /// signal files.
    public func recording(path: String) async throws -> RecordingDetail {
        try roots.checkWritten(path)
        let canonical = pathMap.canonical(path)
        // Its newest job first; then every job of that content (a recording has a handful).
        guard let newest = try await newest(states: nil, limit: 1, admits: { $0.parentID == nil && $0.input.path == canonical }).first else {
            throw ConsoleError(.notFound, "no jobs for that recording")
        }
        let all = try await self.newest(states: nil, limit: 100) { $0.parentID == nil && $0.input.path == canonical && $0.input.hash == newest.input.hash }
        let view = RecordingView(jobs: all.map(local).sorted { $0.id < $1.id })
        let roots = self.roots
        // Stats every output and reads the review file: on the pool, not the server's threads.
        return try await blocking { RecordingDetail(recording: view, roots: roots) }
    }
}
