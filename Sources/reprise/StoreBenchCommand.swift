import ArgumentParser
import Foundation
import RepriseJobs
import RepriseJobsPostgres

/// Claims per second of a job store engine: N jobs enqueued, then W threads claim and mark done
/// until the queue is empty. One JSON line {engine, workers, instances, jobs, seconds,
/// claims_per_second}. Hidden: for `scripts/bench.py claims`.
struct StoreBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-bench",
        abstract: "Measure job store claims per second (benchmark).",
        shouldDisplay: false)

    @Option(help: "sqlite:PATH, or postgres://user@host:port/db (password from PGPASSWORD or a passfile). Its queue must be empty.")
    var store: String
    @Option(help: "Claiming threads.") var workers = 8
    @Option(help: "Jobs to enqueue and claim.") var jobs = 2000
    @Option(help: "Store instances the workers share round-robin: 1 is one node with W worker threads; W is one instance (connection pool, or SQLite connection) per worker, as W processes would have.")
    var instances = 1

    func run() throws {
        guard workers > 0, jobs > 0, instances > 0 else { throw ValidationError("--workers, --jobs and --instances must be positive") }
        let engine: String
        let open: () throws -> any JobStore
        if PostgresStoreURL.isPostgres(store) {
            engine = "postgres"
            let url = store
            open = { try PostgresJobStore(url: url) }
        } else if store.hasPrefix("sqlite:") {
            engine = "sqlite"
            let path = String(store.dropFirst("sqlite:".count))
            open = { try SQLiteJobStore(path: path) }
        } else {
            throw ValidationError("--store must be sqlite:PATH or postgres://…")
        }
        let stores = try (0..<instances).map { _ in try open() }
        let counts = try stores[0].counts()
        guard counts[.queued, default: 0] + counts[.running, default: 0] == 0 else {
            throw ValidationError("\(stores[0].location): the queue is not empty; benchmark on a store of its own")
        }
        let run = UUID().uuidString.prefix(8)
        let now = Date()
        for i in 0..<jobs {
            let input = InputIdentity(path: "/bench/\(run)/\(i).mkv", size: 1, modified: 0, hash: "bench")
            _ = try stores[0].enqueue(input, watchFolder: "/bench", kinds: [("bench", i % 3)], now: now)
        }

        let claimed = ClaimCount()
        let finished = DispatchGroup()
        let start = DispatchTime.now()
        for n in 0..<workers {
            let store = stores[n % stores.count]
            finished.enter()
            Thread {
                defer { finished.leave() }
                do {
                    while let next = try store.claimNext(node: "bench-\(n)", pid: Int32(n), lease: 60, now: Date()) {
                        try store.markDone(next.1, outputs: [], now: Date())
                        claimed.add()
                    }
                } catch {
                    claimed.fail("\(error)")
                }
            }.start()
        }
        finished.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let (count, errors) = claimed.snapshot()
        if let first = errors.first { throw JobStoreError(first) }
        guard count == jobs else { throw JobStoreError("claimed \(count) of \(jobs) jobs") }
        let line: [String: Any] = ["engine": engine, "workers": workers, "instances": instances, "jobs": jobs,
                                   "seconds": (seconds * 1000).rounded() / 1000,
                                   "claims_per_second": (Double(jobs) / seconds).rounded()]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Claims made and errors met by the benchmark's threads, behind a lock.
private final class ClaimCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var errors: [String] = []
    func add() { lock.withLock { count += 1 } }
    func fail(_ error: String) { lock.withLock { errors.append(error) } }
    func snapshot() -> (Int, [String]) { lock.withLock { (count, errors) } }
}
