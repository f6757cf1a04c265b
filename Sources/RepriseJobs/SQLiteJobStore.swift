import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded job store: one SQLite file that the daemon writes and `reprise jobs` reads, and
/// that survives crashes, kill -9 and restarts. Nothing to install; one machine (several daemon
/// processes on it may share the file).
///
/// Every state change is one IMMEDIATE write transaction: SQLite lets one writer in at a time
/// across processes, so two workers never claim the same job; a writer that finds the lock taken
/// waits up to `busyTimeout` instead of failing.
public final class SQLiteJobStore: JobStore {
    /// The database file.
    public let path: String
    public var location: String { path }
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
            // GRDB reads which migrations ran before taking the write lock, so two processes opening
            // a new file at once (the daemon and `reprise jobs`) would both run the first one.
            try Self.migrationLock(beside: path) { try JobMigrations.migrator.migrate(pool) }
        } catch {
            throw JobStoreError("\(path): cannot open the job store: \(error)")
        }
    }

    /// `body` under an exclusive file lock beside the database, released when it returns.
    private static func migrationLock<T>(beside path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path + ".migrate-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw JobStoreError("\(path).migrate-lock: cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw JobStoreError("\(path).migrate-lock: cannot lock: \(String(cString: strerror(errno)))") }
        }
        return try body()
    }

    // MARK: - Enqueue and claim

    public func enqueue(_ input: InputIdentity, watchFolder: String, kinds: [(kind: String, priority: Int)],
                        now: Date) throws -> [Job] {
        try write { db in
            var created: [Job] = []
            for (kind, priority) in kinds {
                let job = Job(id: 0, input: input, watchFolder: watchFolder, kind: kind, priority: priority,
                              state: .queued, attempts: 0, createdAt: now)
                // The unique index decides, so two processes enqueueing the same file agree.
                try db.execute(sql: """
                    INSERT INTO job (\(Job.insertColumns)) VALUES (\(Job.insertPlaceholders))
                    ON CONFLICT (inputPath, inputHash, kind) WHERE parentID IS NULL DO NOTHING
                    """, arguments: job.insertArguments)
                if db.changesCount > 0 {
                    created.append(try fetch(db, db.lastInsertedRowID))
                }
            }
            return created
        }
    }

    public func claimNext(node: String, pid: Int32, lease: TimeInterval, now: Date) throws -> (Job, Claim)? {
        try write { db in
            let t = now.timeIntervalSince1970
            // A child whose `needs` are not all done waits; json_each reads the id list.
            guard let id = try Int64.fetchOne(db, sql: """
                SELECT id FROM job AS j
                WHERE state = 'queued' AND (notBefore IS NULL OR notBefore <= ?)
                  AND NOT EXISTS (SELECT 1 FROM json_each(j.needs) AS n JOIN job AS d ON d.id = n.value
                                  WHERE d.state <> 'done')
                ORDER BY priority, createdAt, id
                LIMIT 1
                """, arguments: [t]) else { return nil }
            try db.execute(sql: """
                UPDATE job SET state = 'running', attempts = attempts + 1, startedAt = ?, finishedAt = NULL,
                               workerPID = ?, node = ?, fence = fence + 1, leaseUntil = ?
                WHERE id = ?
                """, arguments: [t, pid, node, t + lease, id])
            let job = try fetch(db, id)
            return (job, Claim(jobID: id, fence: job.fence, node: node))
        }
    }

    public func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE job SET leaseUntil = ? WHERE id = ? AND fence = ? AND state = 'running'
                """, arguments: [now.timeIntervalSince1970 + lease, claim.jobID, claim.fence])
            return db.changesCount > 0
        }
    }

    // MARK: - Outcomes of an attempt

    public func markDone(_ claim: Claim, outputs: [String], now: Date) throws {
        try write { db in
            let job = try current(db, claim)
            let t = now.timeIntervalSince1970
            try db.execute(sql: """
                UPDATE job SET state = 'done', outputs = ?, lastError = NULL, finishedAt = ?, notBefore = NULL,
                               leaseUntil = NULL
                WHERE id = ?
                """, arguments: [Job.encodeOutputs(outputs), t, job.id])
            if job.completesParent, let parent = job.parentID {
                try db.execute(sql: """
                    UPDATE job SET state = 'done', outputs = ?, lastError = NULL, finishedAt = ? WHERE id = ? AND state = 'waiting'
                    """, arguments: [Job.encodeOutputs(outputs), t, parent])
            }
        }
    }

    public func markFailed(_ claim: Claim, error: String, maxAttempts: Int, now: Date) throws -> Job {
        try write { db in
            let job = try current(db, claim)
            let t = now.timeIntervalSince1970
            if job.attempts < maxAttempts {
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', lastError = ?, notBefore = ?, workerPID = NULL, leaseUntil = NULL
                    WHERE id = ?
                    """, arguments: [error, t + JobBackoff.after(attempts: job.attempts), job.id])
            } else {
                try failForGood(db, job, error: error, at: t)
            }
            return try fetch(db, job.id)
        }
    }

    /// `job` out of attempts: failed, and a part's whole job with it.
    private func failForGood(_ db: Database, _ job: Job, error: String, at t: Double) throws {
        try db.execute(sql: """
            UPDATE job SET state = 'failed', lastError = ?, finishedAt = ?, notBefore = NULL, leaseUntil = NULL, workerPID = NULL
            WHERE id = ?
            """, arguments: [error, t, job.id])
        if let parent = job.parentID {
            // One child out of attempts fails the whole graph; its siblings stop being claimable.
            try db.execute(sql: """
                UPDATE job SET state = 'failed', lastError = ?, finishedAt = ? WHERE id = ? AND state = 'waiting'
                """, arguments: ["part \(job.kind) failed: \(error)", t, parent])
            try db.execute(sql: """
                UPDATE job SET state = 'cancelled', finishedAt = ?, notBefore = NULL
                WHERE parentID = ? AND state = 'queued'
                """, arguments: [t, parent])
        }
    }

    public func release(_ claim: Claim) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE job SET state = 'queued', attempts = max(attempts - 1, 0), workerPID = NULL, leaseUntil = NULL
                WHERE id = ? AND fence = ? AND state = 'running'
                """, arguments: [claim.jobID, claim.fence])
            return db.changesCount > 0
        }
    }

    public func split(_ claim: Claim, into children: [JobDraft], now: Date) throws -> [Job] {
        try write { db in
            let parent = try current(db, claim)
            var ids: [Int64] = []
            for (n, draft) in children.enumerated() {
                guard draft.needs.allSatisfy({ $0 >= 0 && $0 < n }) else {
                    throw JobStoreError("job \(parent.id): part \(n) (\(draft.kind)) needs a part that is not drafted before it")
                }
                let child = Job(id: 0, input: parent.input, watchFolder: parent.watchFolder, kind: draft.kind,
                                priority: draft.priority, state: .queued, attempts: 0, createdAt: now,
                                parentID: parent.id, payload: draft.payload, needs: draft.needs.map { ids[$0] },
                                completesParent: draft.completesParent)
                try db.execute(sql: "INSERT INTO job (\(Job.insertColumns)) VALUES (\(Job.insertPlaceholders))",
                               arguments: child.insertArguments)
                ids.append(db.lastInsertedRowID)
            }
            try db.execute(sql: """
                UPDATE job SET state = 'waiting', leaseUntil = NULL, workerPID = NULL WHERE id = ?
                """, arguments: [parent.id])
            return try ids.map { try fetch(db, $0) }
        }
    }

    public func markQuarantined(_ id: Int64, reason: String, now: Date) throws {
        try write { db in
            let job = try fetch(db, id)
            guard job.state != .done, job.state != .cancelled else {
                throw JobStoreError("job \(id) is \(job.state.rawValue); cannot quarantine it")
            }
            try db.execute(sql: """
                UPDATE job SET state = 'quarantined', lastError = ?, finishedAt = ?, notBefore = NULL, leaseUntil = NULL
                WHERE id = ?
                """, arguments: [reason, now.timeIntervalSince1970, id])
        }
    }

    // MARK: - Crash recovery and housekeeping

    public func expireLeases(now: Date, maxAttempts: Int) throws -> Int {
        try write { db in
            let t = now.timeIntervalSince1970
            let expired = try Row.fetchAll(db, sql: """
                SELECT * FROM job WHERE state = 'running' AND (leaseUntil IS NULL OR leaseUntil < ?) ORDER BY id
                """, arguments: [t]).map(Job.init(row:))
            for job in expired {
                if job.attempts < maxAttempts {
                    try db.execute(sql: "UPDATE job SET state = 'queued', workerPID = NULL, leaseUntil = NULL WHERE id = ?",
                                   arguments: [job.id])
                } else {
                    try failForGood(db, job, error: Self.leaseExpiredError(node: job.node, attempts: job.attempts), at: t)
                }
            }
            return expired.count
        }
    }

    public func removeFinished(olderThan cutoff: Date) throws -> Int {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, inputPath FROM job
                WHERE parentID IS NULL AND state IN ('done', 'failed', 'quarantined', 'cancelled') AND finishedAt < ?
                """, arguments: [cutoff.timeIntervalSince1970])
            var removed = 0
            for row in rows where !FileManager.default.fileExists(atPath: row["inputPath"]) {
                let id: Int64 = row["id"]
                try db.execute(sql: "DELETE FROM job WHERE parentID = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
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

    public func children(of parent: Int64) throws -> [Job] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job WHERE parentID = ? ORDER BY id", arguments: [parent]).map(Job.init(row:))
        }
    }

    public func isCancelled(_ id: Int64) throws -> Bool {
        try read { db in try fetch(db, id).state == .cancelled }
    }

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

    public func saveOverride(recording: String, hash: String, body: String, now: Date) throws -> Int {
        try appendOverride(recording: recording, hash: hash, body: body, expecting: .none, now: now)
    }

    public func saveOverride(recording: String, hash: String, body: String, over: Int?, now: Date) throws -> Int {
        try appendOverride(recording: recording, hash: hash, body: body, expecting: .some(over), now: now)
    }

    /// `expecting`: `.none` appends over whatever is newest; `.some(v)` only over version v (nil: none yet).
    private func appendOverride(recording: String, hash: String, body: String, expecting: Int??, now: Date) throws -> Int {
        try write { db in
            let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM plan_override WHERE recordingPath = ? AND recordingHash = ?",
                                           arguments: [recording, hash]) ?? 0
            if case .some(let expected) = expecting, current != (expected ?? 0) { throw OverrideConflict(newest: current) }
            let next = current + 1
            try db.execute(sql: "INSERT INTO plan_override (recordingPath, recordingHash, version, body, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [recording, hash, next, body, now.timeIntervalSince1970])
            return next
        }
    }

    public func latestOverride(recording: String, hash: String) throws -> PlanOverride? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT version, body, createdAt FROM plan_override WHERE recordingPath = ? AND recordingHash = ?
                ORDER BY version DESC LIMIT 1
                """, arguments: [recording, hash]).map {
                PlanOverride(version: $0["version"], body: $0["body"], createdAt: Date(timeIntervalSince1970: $0["createdAt"]))
            }
        }
    }

    public func rerun(_ id: Int64) throws -> Job {
        try write { db in
            let job = try fetch(db, id)
            guard job.parentID == nil, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE parentID = ?", arguments: [id]) ?? 0 == 0 else {
                throw JobStoreError("job \(id) is split into parts or is a part; run its whole job again with retry")
            }
            switch job.state {
            case .done, .failed, .quarantined, .cancelled:
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', attempts = 0, notBefore = NULL, lastError = NULL,
                                   startedAt = NULL, finishedAt = NULL, workerPID = NULL, leaseUntil = NULL WHERE id = ?
                    """, arguments: [id])
            case .queued:
                try db.execute(sql: "UPDATE job SET notBefore = NULL WHERE id = ?", arguments: [id])
            case .running, .waiting:
                throw JobStoreError("job \(id) is \(job.state.rawValue); it can run again once it has ended")
            }
            return try fetch(db, id)
        }
    }

    public func retry(_ id: Int64) throws -> Job {
        try write { db in
            let job = try fetch(db, id)
            switch job.state {
            case .failed, .quarantined, .cancelled:
                let reset = """
                    UPDATE job SET state = 'queued', attempts = 0, notBefore = NULL, lastError = NULL,
                                   startedAt = NULL, finishedAt = NULL, workerPID = NULL, leaseUntil = NULL
                    """
                if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE parentID = ?", arguments: [id]) ?? 0 > 0 {
                    // A split job runs all its parts again, the parent waiting: a job that ended
                    // unfinished has lost its published parts (the daemon removes them), so a
                    // finished part's file can't be trusted to be there.
                    try db.execute(sql: reset + ", outputs = '[]' WHERE parentID = ?", arguments: [id])
                    try db.execute(sql: """
                        UPDATE job SET state = 'waiting', lastError = NULL, finishedAt = NULL, notBefore = NULL WHERE id = ?
                        """, arguments: [id])
                } else {
                    try db.execute(sql: reset + " WHERE id = ?", arguments: [id])
                }
            case .queued:
                try db.execute(sql: "UPDATE job SET notBefore = NULL WHERE id = ?", arguments: [id])
            case .running, .waiting:
                throw JobStoreError("job \(id) is \(job.state.rawValue); nothing to retry")
            case .done:
                throw JobStoreError("job \(id) is done; nothing to retry")
            }
            return try fetch(db, id)
        }
    }

    public func cancel(_ id: Int64, now: Date) throws -> Job {
        try write { db in
            var job = try fetch(db, id)
            // A part is cancelled with its whole job: the job would wait for it forever.
            if let parent = job.parentID, !job.isFinal || job.state == .failed {
                let whole = try fetch(db, parent)
                if whole.state == .waiting { job = whole }
            }
            let target = job.id
            switch job.state {
            case .queued, .failed, .running, .waiting:
                let t = now.timeIntervalSince1970
                try db.execute(sql: """
                    UPDATE job SET state = 'cancelled', finishedAt = ?, notBefore = NULL, leaseUntil = NULL WHERE id = ?
                    """, arguments: [t, target])
                try db.execute(sql: """
                    UPDATE job SET state = 'cancelled', finishedAt = ?, notBefore = NULL, leaseUntil = NULL
                    WHERE parentID = ? AND state IN ('queued', 'running', 'failed')
                    """, arguments: [t, target])
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

    // MARK: - Nodes

    public func heartbeat(_ s: NodeStatus) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO node (name, host, pid, role, load, running, watching, startedAt, seenAt, progress)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, role = excluded.role,
                    load = excluded.load, running = excluded.running, watching = excluded.watching,
                    startedAt = excluded.startedAt, seenAt = excluded.seenAt, progress = excluded.progress
                """, arguments: [s.name, s.host, s.pid, s.role, s.load, Job.encodeIDs(s.running),
                                 Job.encodeOutputs(s.watching), s.startedAt.timeIntervalSince1970,
                                 s.seenAt.timeIntervalSince1970, JobProgressReport.encode(s.progress)])
        }
    }

    public func nodes(seenSince since: Date) throws -> [NodeStatus] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM node WHERE seenAt >= ? ORDER BY name",
                             arguments: [since.timeIntervalSince1970]).map { row in
                let running: String = row["running"], watching: String = row["watching"]
                return NodeStatus(name: row["name"], host: row["host"], pid: row["pid"], role: row["role"], load: row["load"],
                                  running: (try? JSONDecoder().decode([Int64].self, from: Data(running.utf8))) ?? [],
                                  watching: (try? JSONDecoder().decode([String].self, from: Data(watching.utf8))) ?? [],
                                  startedAt: Date(timeIntervalSince1970: row["startedAt"]),
                                  seenAt: Date(timeIntervalSince1970: row["seenAt"]),
                                  progress: JobProgressReport.decode(row["progress"]))
            }
        }
    }

    /// A file lock beside the database, one per folder: released by the kernel when the holder dies.
    public func holdWatch(_ folder: String, node: String) throws -> WatchHold? {
        try FileWatchHold.take(folder: folder, lockFolder: (path as NSString).deletingLastPathComponent)
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
        } catch let error as StaleClaim {
            throw error
        } catch let error as OverrideConflict {
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

    /// The job, when `claim` is its current claim and it still runs; else `StaleClaim`.
    private func current(_ db: Database, _ claim: Claim) throws -> Job {
        let job = try fetch(db, claim.jobID)
        guard job.state == .running, job.fence == claim.fence else {
            throw StaleClaim(claim: claim, currentFence: job.fence, state: job.state)
        }
        return job
    }
}
