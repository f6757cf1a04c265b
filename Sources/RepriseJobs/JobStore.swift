import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The durable queue of the watch-folder daemon: one SQLite file that the daemon writes and
/// `reprise jobs` reads, and that survives crashes, kill -9 and restarts.
///
/// Every state change is one IMMEDIATE write transaction: SQLite lets one writer in at a time
/// across processes, so two daemons (or two stores in one process) never claim the same job;
/// a writer that finds the lock taken waits up to `busyTimeout` instead of failing.
public final class JobStore: Sendable {
    /// The database file.
    public let path: String
    private let pool: DatabasePool

    /// How long a writer waits for another process's write transaction before giving up.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (creating the folder and the file when missing) and migrates the store.
    /// A `DatabasePool` puts the file in WAL mode, so readers are never blocked by the writer.
    public init(path: String) throws {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw JobStoreError("\(path): cannot create folder \(folder.path): \(error.localizedDescription)")
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try JobMigrations.migrator.migrate(pool)
        } catch {
            throw JobStoreError("\(path): cannot open the job store: \(error)")
        }
    }

    // MARK: - Enqueue and claim

    /// One job per (input path, input hash, kind). An input whose identity (same path, same hash)
    /// already has a job of that kind gets none (never processed twice), whatever that job's state;
    /// a changed file (new hash) gets new jobs. Returns the jobs created.
    public func enqueue(_ input: InputIdentity, watchFolder: String, kinds: [(kind: String, priority: Int)],
                        now: Date = Date()) throws -> [Job] {
        try write { db in
            var created: [Job] = []
            for (kind, priority) in kinds {
                let job = Job(id: 0, input: input, watchFolder: watchFolder, kind: kind, priority: priority,
                              state: .queued, attempts: 0, createdAt: now)
                // The unique index decides, so two processes enqueueing the same file agree.
                try db.execute(sql: """
                    INSERT INTO job (\(Job.insertColumns))
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (inputPath, inputHash, kind) DO NOTHING
                    """, arguments: job.insertArguments)
                if db.changesCount > 0 {
                    created.append(try fetch(db, db.lastInsertedRowID))
                }
            }
            return created
        }
    }

    /// Atomically takes the next runnable job (queued, `notBefore` <= now or nil), lowest priority
    /// first then oldest, marks it running, attempts += 1, startedAt, workerPID. nil when none.
    public func claimNext(pid: Int32, now: Date = Date()) throws -> Job? {
        try write { db in
            let t = now.timeIntervalSince1970
            guard let id = try Int64.fetchOne(db, sql: """
                SELECT id FROM job
                WHERE state = 'queued' AND (notBefore IS NULL OR notBefore <= ?)
                ORDER BY priority, createdAt, id
                LIMIT 1
                """, arguments: [t]) else { return nil }
            try db.execute(sql: """
                UPDATE job SET state = 'running', attempts = attempts + 1, startedAt = ?, finishedAt = NULL,
                               workerPID = ?
                WHERE id = ?
                """, arguments: [t, pid, id])
            return try fetch(db, id)
        }
    }

    // MARK: - Outcomes of an attempt

    /// The attempt succeeded: done, with the outputs it published.
    public func markDone(_ id: Int64, outputs: [String], now: Date = Date()) throws {
        try write { db in
            try requireRunning(try fetch(db, id), toMark: "done")
            try db.execute(sql: """
                UPDATE job SET state = 'done', outputs = ?, lastError = NULL, finishedAt = ?, notBefore = NULL
                WHERE id = ?
                """, arguments: [Job.encodeOutputs(outputs), now.timeIntervalSince1970, id])
        }
    }

    /// Wait before the next attempt after `attempts` failed ones: 30 s × 2^(attempts-1), at most 1 h.
    public static func backoff(afterAttempts attempts: Int) -> TimeInterval {
        let doublings = max(attempts - 1, 0)
        return doublings >= 7 ? 3600 : min(TimeInterval(30 << doublings), 3600)
    }

    /// A failed attempt: back to queued with notBefore = now + `backoff(afterAttempts:)` while
    /// attempts < maxAttempts, else state failed. Returns the updated job.
    public func markFailed(_ id: Int64, error: String, maxAttempts: Int, now: Date = Date()) throws -> Job {
        try write { db in
            let job = try fetch(db, id)
            try requireRunning(job, toMark: "failed")
            let t = now.timeIntervalSince1970
            if job.attempts < maxAttempts {
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', lastError = ?, notBefore = ?, workerPID = NULL WHERE id = ?
                    """, arguments: [error, t + Self.backoff(afterAttempts: job.attempts), id])
            } else {
                try db.execute(sql: """
                    UPDATE job SET state = 'failed', lastError = ?, finishedAt = ?, notBefore = NULL WHERE id = ?
                    """, arguments: [error, t, id])
            }
            return try fetch(db, id)
        }
    }

    /// The input is bad (retrying would not help): quarantined with the reason. Any state but
    /// done and cancelled; the daemon may quarantine a queued job before it runs.
    public func markQuarantined(_ id: Int64, reason: String, now: Date = Date()) throws {
        try write { db in
            let job = try fetch(db, id)
            guard job.state != .done, job.state != .cancelled else {
                throw JobStoreError("job \(id) is \(job.state.rawValue); cannot quarantine it")
            }
            try db.execute(sql: """
                UPDATE job SET state = 'quarantined', lastError = ?, finishedAt = ?, notBefore = NULL WHERE id = ?
                """, arguments: [reason, now.timeIntervalSince1970, id])
        }
    }

    // MARK: - Crash and shutdown

    /// After a crash or kill -9: every running job whose workerPID is not a live process (or any
    /// running job when `all`) goes back to queued (attempts kept: the attempt may be what crashed
    /// the daemon, so it counts towards maxAttempts). Returns how many.
    /// A recycled pid reads as live; `all: true` is for a daemon that knows it is the only one.
    public func recoverInterrupted(all: Bool = false) throws -> Int {
        try write { db in
            let running = try Row.fetchAll(db, sql: "SELECT id, workerPID FROM job WHERE state = 'running'")
            var recovered = 0
            for row in running {
                let pid: Int32? = row["workerPID"]
                if all || !Self.isLive(pid) {
                    try db.execute(sql: "UPDATE job SET state = 'queued', workerPID = NULL WHERE id = ?",
                                   arguments: [row["id"] as Int64])
                    recovered += 1
                }
            }
            return recovered
        }
    }

    /// Back to queued on shutdown (SIGTERM): running jobs of this pid, attempts decremented by one
    /// (the attempt did not fail). Returns how many.
    public func requeue(pid: Int32) throws -> Int {
        try write { db in
            try db.execute(sql: """
                UPDATE job SET state = 'queued', attempts = max(attempts - 1, 0), workerPID = NULL
                WHERE state = 'running' AND workerPID = ?
                """, arguments: [pid])
            return db.changesCount
        }
    }

    /// Retention: deletes done, failed, quarantined and cancelled jobs that finished before `cutoff`
    /// and whose input file is no longer at its path. A job row is also the record that its input
    /// was seen: while the file is still in the watch folder, dropping the row would make the next
    /// scan enqueue it again, so such rows stay. Returns how many were deleted.
    public func removeFinished(olderThan cutoff: Date) throws -> Int {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, inputPath FROM job
                WHERE state IN ('done', 'failed', 'quarantined', 'cancelled') AND finishedAt < ?
                """, arguments: [cutoff.timeIntervalSince1970])
            var removed = 0
            for row in rows where !FileManager.default.fileExists(atPath: row["inputPath"]) {
                try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [row["id"] as Int64])
                removed += 1
            }
            return removed
        }
    }

    // MARK: - Reading

    public func job(_ id: Int64) throws -> Job? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Job.init(row:))
        }
    }

    /// Newest first; all states when `states` is nil.
    public func jobs(states: Set<Job.State>? = nil, limit: Int = 1000) throws -> [Job] {
        if let states, states.isEmpty { return [] }
        return try read { db in
            var sql = "SELECT * FROM job"
            var arguments: StatementArguments = []
            if let states {
                // Sorted so the statement text is stable (and cached) for a given set.
                let names = states.map(\.rawValue).sorted()
                sql += " WHERE state IN (\(names.map { _ in "?" }.joined(separator: ", ")))"
                arguments += StatementArguments(names)
            }
            sql += " ORDER BY createdAt DESC, id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Job.init(row:))
        }
    }

    public func isCancelled(_ id: Int64) throws -> Bool {
        try read { db in try fetch(db, id).state == .cancelled }
    }

    /// Every state, zero included.
    public func counts() throws -> [Job.State: Int] {
        try read { db in
            var counts = Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM job GROUP BY state") {
                if let state = Job.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    // MARK: - Operator commands

    /// failed/quarantined/cancelled → queued, attempts 0, notBefore nil. A queued job only loses its
    /// backoff (runs as soon as a worker is free). Error if running or done.
    public func retry(_ id: Int64) throws -> Job {
        try write { db in
            let job = try fetch(db, id)
            switch job.state {
            case .failed, .quarantined, .cancelled:
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', attempts = 0, notBefore = NULL, lastError = NULL,
                                   startedAt = NULL, finishedAt = NULL, workerPID = NULL
                    WHERE id = ?
                    """, arguments: [id])
            case .queued:
                try db.execute(sql: "UPDATE job SET notBefore = NULL WHERE id = ?", arguments: [id])
            case .running:
                throw JobStoreError("job \(id) is running; nothing to retry")
            case .done:
                throw JobStoreError("job \(id) is done; nothing to retry")
            }
            return try fetch(db, id)
        }
    }

    /// queued/failed → cancelled; running → cancelled too (the daemon checks `isCancelled` between
    /// stages, and its markDone/markFailed then fail); cancelled stays; done and quarantined → error.
    public func cancel(_ id: Int64, now: Date = Date()) throws -> Job {
        try write { db in
            let job = try fetch(db, id)
            switch job.state {
            case .queued, .failed, .running:
                try db.execute(sql: """
                    UPDATE job SET state = 'cancelled', finishedAt = ?, notBefore = NULL WHERE id = ?
                    """, arguments: [now.timeIntervalSince1970, id])
            case .cancelled:
                break
            case .done:
                throw JobStoreError("job \(id) is done; nothing to cancel")
            case .quarantined:
                throw JobStoreError("job \(id) is quarantined; nothing to cancel")
            }
            return try fetch(db, id)
        }
    }

    // MARK: - Plumbing

    /// An explicit IMMEDIATE transaction: the write lock is taken at BEGIN, so a read-then-update
    /// (claimNext) cannot interleave with another process's, and waiting for the lock goes through
    /// the busy timeout (a DEFERRED transaction upgrading to a writer can fail at once instead).
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("\(path): \(error)")
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("\(path): \(error)")
        }
    }

    private func fetch(_ db: Database, _ id: Int64) throws -> Job {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]) else {
            throw JobStoreError("\(path): no job \(id)")
        }
        return try Job(row: row)
    }

    private func requireRunning(_ job: Job, toMark outcome: String) throws {
        guard job.state == .running else {
            throw JobStoreError("job \(job.id) is \(job.state.rawValue), not running; cannot mark it \(outcome)")
        }
    }

    /// kill(pid, 0) probes without signalling; EPERM means the process exists but is someone else's.
    /// pid 0 and negative pids would address process groups, so they never count as live.
    static func isLive(_ pid: Int32?) -> Bool {
        guard let pid, pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
