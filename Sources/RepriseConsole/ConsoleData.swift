import Foundation
import NIOPosix
import RepriseDaemon
import RepriseHighlights
import RepriseJobs

/// What the console reads and changes, over the daemon's job store. The store's calls block, so
/// every one runs on NIO's thread pool, never on the server's event loops or Swift's
/// cooperative threads.
public final class ConsoleData: Sendable {
    public let store: any JobStore
    public let progress: JobProgressBoard
    public let roots: PathRoots
    /// Nodes count as alive when heard from within this long.
    let nodeWindow: TimeInterval

    public init(store: any JobStore, progress: JobProgressBoard, roots: PathRoots, nodeWindow: TimeInterval = 15) {
        self.store = store; self.progress = progress; self.roots = roots; self.nodeWindow = nodeWindow
    }

    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    public func jobs(_ filter: JobFilter) async throws -> [JobView] {
        let board = progress.all(), now = Date()
        return try await blocking { [store] in
            let fetch = (filter.form == nil && filter.recording == nil && filter.includeParts) ? filter.limit : min(10_000, filter.limit * 4)
            return try store.jobs(states: filter.states, limit: fetch).filter(filter.admits).prefix(filter.limit)
                .map { JobView($0, progress: board[$0.id], now: now) }
        }
    }

    public func job(_ id: Int64) async throws -> (job: JobView, parts: [JobView]) {
        let board = progress.all()
        return try await blocking { [store] in
            guard let job = try store.job(id) else { throw ConsoleError(.notFound, "no job \(id)") }
            let parts = try store.children(of: id).map { JobView($0, progress: board[$0.id]) }
            return (JobView(job, progress: board[id]), parts)
        }
    }

    public func counts() async throws -> [String: Int] {
        try await blocking { [store] in
            Dictionary(uniqueKeysWithValues: try store.counts().map { ($0.key.rawValue, $0.value) })
        }
    }

    public func retry(_ id: Int64) async throws -> JobView {
        try await blocking { [store] in
            guard try store.job(id) != nil else { throw ConsoleError(.notFound, "no job \(id)") }
            do { return JobView(try store.retry(id), progress: nil) } catch let e as JobStoreError {
                throw ConsoleError(.conflict, e.description)
            }
        }
    }

    public func cancel(_ id: Int64) async throws -> JobView {
        try await blocking { [store] in
            guard try store.job(id) != nil else { throw ConsoleError(.notFound, "no job \(id)") }
            do { return JobView(try store.cancel(id, now: Date()), progress: nil) } catch let e as JobStoreError {
                throw ConsoleError(.conflict, e.description)
            }
        }
    }

    public func nodes() async throws -> [NodeView] {
        let since = Date().addingTimeInterval(-nodeWindow)
        return try await blocking { [store] in try store.nodes(seenSince: since).map(NodeView.init) }
    }

    /// Recordings, newest first: every top-level job of an input, grouped.
    public func recordings(limit: Int = 10_000) async throws -> [RecordingView] {
        let jobs = try await blocking { [store] in try store.jobs(states: nil, limit: limit).filter { $0.parentID == nil } }
        var order: [String] = [], grouped: [String: [Job]] = [:]
        for job in jobs {
            let key = job.input.path + "\u{0}" + job.input.hash
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(job)
        }
        return order.map { RecordingView(jobs: grouped[$0]!.sorted { $0.id < $1.id }) }
    }

    /// One recording by its path (inside the roots): its jobs, outputs and signal files.
    public func recording(path: String) async throws -> RecordingDetail {
        let inRoots = roots.contains(URL(fileURLWithPath: path).standardizedFileURL.path)
        guard path.hasPrefix("/"), inRoots else { throw ConsoleError(.forbidden, "path is outside the console's folders") }
        let all = try await blocking { [store] in try store.jobs(states: nil, limit: 10_000).filter { $0.parentID == nil && $0.input.path == path } }
        guard let newestHash = all.first?.input.hash else { throw ConsoleError(.notFound, "no jobs for that recording") }
        let view = RecordingView(jobs: all.filter { $0.input.hash == newestHash }.sorted { $0.id < $1.id })
        return RecordingDetail(recording: view, roots: roots)
    }
}

public struct NodeView: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var pid: Int32
    public var role: String
    public var load: Double
    public var running: [Int64]
    public var watching: [String]
    public var seenAt: Date
    init(_ n: NodeStatus) {
        name = n.name; host = n.host; pid = n.pid; role = n.role; load = n.load; running = n.running; watching = n.watching; seenAt = n.seenAt
    }
}
