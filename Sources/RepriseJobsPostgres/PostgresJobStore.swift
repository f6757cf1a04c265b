import Foundation
import Logging
import PostgresNIO
import RepriseJobs

/// The job store on PostgreSQL, for many nodes on one queue. Every node opens the same database;
/// the schema is created and migrated on open (PostgresSchema.swift).
///
/// Calls are synchronous (the daemon's workers are threads): each runs its statements on a pooled
/// connection (`PostgresClient`) and waits. Call them from threads, never from inside a Swift
/// concurrency task: the wait would hold one of the few cooperative threads the call itself needs. Every state change is one transaction. A claim is one
/// `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`, so nodes claiming at once each
/// get a different job without waiting on each other. An outcome locks its job's row, checks that
/// the claim's fencing token is still the job's, and only then writes.
///
/// Every call has a time limit (`callTimeout`): a server behind a cut link or one that stopped
/// answering must not hang the daemon's loop. A call past it throws a `JobStoreError` saying so,
/// and its connection is closed (the pool opens a fresh one). A change the server had already
/// committed when the limit passed stays committed: claims and outcomes are safe to find so
/// (a claim nobody holds expires with its lease; an outcome's retry meets `StaleClaim`).
public final class PostgresJobStore: JobStore {
    public let url: PostgresStoreURL
    /// `postgres://user@host:port/db`: never the password.
    public var location: String { url.display }
    /// Seconds a call may take before it is given up on (`?call_timeout=` in the URL, default 10).
    public let callTimeout: TimeInterval

    private let client: PostgresClient
    /// The pool's background work, started on open and cancelled on close.
    private let runner: Task<Void, Never>
    /// For sessions of their own (migration, watch holds), outside the pool.
    let sessionConfiguration: PostgresConnection.Configuration
    let logger: Logger

    /// Opens the store at `url` (a `postgres://` URL without a password; see `PostgresStoreURL`),
    /// with the password from `PGPASSWORD` or the passfile.
    public convenience init(url text: String, logger: Logger? = nil) throws {
        let url = try PostgresStoreURL(text)
        try self.init(url: url, password: PostgresPassword.find(for: url), logger: logger)
    }

    /// Opens the store: one session of its own migrates the schema (which also proves the server,
    /// the database and the password), then the pool starts.
    public init(url: PostgresStoreURL, password: String?, logger: Logger? = nil, maximumConnections: Int = 20) throws {
        self.url = url
        callTimeout = url.callTimeout
        let logger = logger ?? Logger(label: "reprise.jobs.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        self.logger = logger
        let tls = try PostgresTLS(url)

        var session: PostgresConnection.Configuration
        var pooled: PostgresClient.Configuration
        if let socket = url.socketPath {
            session = .init(unixSocketPath: socket, username: url.user, password: password, database: url.database)
            pooled = .init(unixSocketPath: socket, username: url.user, password: password, database: url.database)
        } else {
            session = .init(host: url.host!, port: url.port, username: url.user, password: password, database: url.database,
                            tls: tls.session)
            pooled = .init(host: url.host!, port: url.port, username: url.user, password: password, database: url.database,
                           tls: tls.pooled)
            session.options.tlsServerName = tls.serverName
            pooled.options.tlsServerName = tls.serverName
        }
        pooled.options.maximumConnections = maximumConnections
        // The call's own limit fails a call waiting for a connection that can't be made; the
        // driver's connect timeout is a second later, so the two never race (under load the
        // driver's could fire first and the same failure read differently) and still ends the
        // attempt soon after.
        let connectMilliseconds = Int64((url.callTimeout + 1) * 1000)
        session.options.connectTimeout = .milliseconds(connectMilliseconds)
        pooled.options.connectTimeout = .milliseconds(connectMilliseconds)
        sessionConfiguration = session

        let location = url.display
        let sessionConfig = session
        let inUse = ConnectionInUse()
        do {
            try blocking(timeout: url.callTimeout) {
                let connection = try await PostgresConnection.connect(configuration: sessionConfig, id: 0, logger: logger)
                inUse.use(connection)
                do {
                    try await PostgresSchema.migrate(connection, logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try await connection.close()
            }
        } catch let error as BlockingTimedOut {
            inUse.abandon()
            throw JobStoreError("\(location): cannot open the job store: \(error): the server does not answer")
        } catch {
            throw JobStoreError("\(location): cannot open the job store: \(PostgresErrorText.describe(error))")
        }
        let client = PostgresClient(configuration: pooled, backgroundLogger: logger)
        self.client = client
        runner = Task.detached { await client.run() }
    }

    /// Stops the pool and closes its connections (also done when the store is freed). Calls
    /// after this fail. Watch holds have sessions of their own and stay until released.
    public func close() { runner.cancel() }

    deinit { runner.cancel() }

    // MARK: - Enqueue and claim

    public func enqueue(_ input: InputIdentity, watchFolder: String, kinds: [(kind: String, priority: Int)],
                        now: Date) throws -> [Job] {
        let kinds = kinds.map { Kind(name: $0.kind, priority: $0.priority) }
        return try transaction { c in
            var created: [Job] = []
            for kind in kinds {
                // The partial unique index decides, so two nodes enqueueing the same file agree.
                let rows = try await c.query("""
                    INSERT INTO job (inputPath, inputSize, inputModified, inputHash, watchFolder, kind, priority, state,
                                     createdAt)
                    VALUES (\(input.path), \(input.size), \(input.modified), \(input.hash), \(watchFolder), \(kind.name),
                            \(kind.priority), 'queued', \(now.timeIntervalSince1970))
                    ON CONFLICT (inputPath, inputHash, kind) WHERE parentID IS NULL DO NOTHING
                    RETURNING \(unescaped: PostgresJobRow.columns)
                    """, logger: self.logger).collect()
                created += try rows.map(PostgresJobRow.job)
            }
            return created
        }
    }

    public func claimNext(node: String, pid: Int32, lease: TimeInterval, now: Date) throws -> (Job, Claim)? {
        let t = now.timeIntervalSince1970
        return try statement { c in
            // SKIP LOCKED: a row another node is claiming right now is passed over, not waited for.
            // A child whose `needs` are not all done is not runnable.
            let rows = try await c.query("""
                UPDATE job SET state = 'running', attempts = attempts + 1, startedAt = \(t), finishedAt = NULL,
                               workerPID = \(Int64(pid)), node = \(node), fence = fence + 1, leaseUntil = \(t + lease)
                WHERE id = (
                    SELECT j.id FROM job AS j
                    WHERE j.state = 'queued' AND (j.notBefore IS NULL OR j.notBefore <= \(t))
                      AND NOT EXISTS (SELECT 1 FROM job AS d WHERE d.id = ANY (j.needs) AND d.state <> 'done')
                    ORDER BY j.priority, j.createdAt, j.id
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: PostgresJobRow.columns)
                """, logger: self.logger).collect()
            guard let row = rows.first else { return nil }
            let job = try PostgresJobRow.job(row)
            return (job, Claim(jobID: job.id, fence: job.fence, node: node))
        }
    }

    public func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool {
        try statement { c in
            let rows = try await c.query("""
                UPDATE job SET leaseUntil = \(now.timeIntervalSince1970 + lease)
                WHERE id = \(claim.jobID) AND fence = \(claim.fence) AND state = 'running'
                RETURNING id
                """, logger: self.logger).collect()
            return !rows.isEmpty
        }
    }

    // MARK: - Outcomes of an attempt

    public func markDone(_ claim: Claim, outputs: [String], now: Date) throws {
        try transaction { c in
            let job = try await self.current(c, claim)
            let t = now.timeIntervalSince1970
            try await c.query("""
                UPDATE job SET state = 'done', outputs = \(outputs), lastError = NULL, finishedAt = \(t), notBefore = NULL,
                               leaseUntil = NULL
                WHERE id = \(job.id)
                """, logger: self.logger)
            if job.completesParent, let parent = job.parentID {
                try await c.query("""
                    UPDATE job SET state = 'done', outputs = \(outputs), lastError = NULL, finishedAt = \(t)
                    WHERE id = \(parent) AND state = 'waiting'
                    """, logger: self.logger)
            }
        }
    }

    public func markFailed(_ claim: Claim, error: String, maxAttempts: Int, now: Date) throws -> Job {
        try transaction { c in
            let job = try await self.current(c, claim)
            let t = now.timeIntervalSince1970
            if job.attempts < maxAttempts {
                try await c.query("""
                    UPDATE job SET state = 'queued', lastError = \(error),
                                   notBefore = \(t + JobBackoff.after(attempts: job.attempts)), workerPID = NULL, leaseUntil = NULL
                    WHERE id = \(job.id)
                    """, logger: self.logger)
            } else {
                try await self.failForGood(c, job, error: error, at: t)
            }
            return try await self.fetch(c, job.id)
        }
    }

    /// `job` (locked by the caller's transaction) out of attempts: failed, and a part's whole job with it.
    private func failForGood(_ c: PostgresConnection, _ job: Job, error: String, at t: Double) async throws {
        try await c.query("""
            UPDATE job SET state = 'failed', lastError = \(error), finishedAt = \(t), notBefore = NULL, leaseUntil = NULL,
                           workerPID = NULL
            WHERE id = \(job.id)
            """, logger: logger)
        if let parent = job.parentID {
            let why = "part \(job.kind) failed: \(error)"
            // One child out of attempts fails the whole graph; its siblings stop being claimable.
            try await c.query("""
                UPDATE job SET state = 'failed', lastError = \(why), finishedAt = \(t)
                WHERE id = \(parent) AND state = 'waiting'
                """, logger: logger)
            try await c.query("""
                UPDATE job SET state = 'cancelled', finishedAt = \(t), notBefore = NULL
                WHERE parentID = \(parent) AND state = 'queued'
                """, logger: logger)
        }
    }

    public func release(_ claim: Claim) throws -> Bool {
        try statement { c in
            let rows = try await c.query("""
                UPDATE job SET state = 'queued', attempts = GREATEST(attempts - 1, 0), workerPID = NULL, leaseUntil = NULL
                WHERE id = \(claim.jobID) AND fence = \(claim.fence) AND state = 'running'
                RETURNING id
                """, logger: self.logger).collect()
            return !rows.isEmpty
        }
    }

    public func split(_ claim: Claim, into children: [JobDraft], now: Date) throws -> [Job] {
        try transaction { c in
            let parent = try await self.current(c, claim)
            var created: [Job] = []
            for (n, draft) in children.enumerated() {
                guard draft.needs.allSatisfy({ $0 >= 0 && $0 < n }) else {
                    throw JobStoreError("job \(parent.id): part \(n) (\(draft.kind)) needs a part that is not drafted before it")
                }
                let needs = draft.needs.map { created[$0].id }
                let rows = try await c.query("""
                    INSERT INTO job (inputPath, inputSize, inputModified, inputHash, watchFolder, kind, priority, state,
                                     createdAt, parentID, payload, needs, completesParent)
                    VALUES (\(parent.input.path), \(parent.input.size), \(parent.input.modified), \(parent.input.hash),
                            \(parent.watchFolder), \(draft.kind), \(draft.priority), 'queued', \(now.timeIntervalSince1970),
                            \(parent.id), \(draft.payload), \(needs), \(draft.completesParent))
                    RETURNING \(unescaped: PostgresJobRow.columns)
                    """, logger: self.logger).collect()
                created.append(try PostgresJobRow.job(rows[0]))
            }
            try await c.query("""
                UPDATE job SET state = 'waiting', leaseUntil = NULL, workerPID = NULL WHERE id = \(parent.id)
                """, logger: self.logger)
            return created
        }
    }

    public func markQuarantined(_ id: Int64, reason: String, now: Date) throws {
        try transaction { c in
            let job = try await self.fetch(c, id, forUpdate: true)
            guard job.state != .done, job.state != .cancelled else {
                throw JobStoreError("job \(id) is \(job.state.rawValue); cannot quarantine it")
            }
            try await c.query("""
                UPDATE job SET state = 'quarantined', lastError = \(reason), finishedAt = \(now.timeIntervalSince1970),
                               notBefore = NULL, leaseUntil = NULL
                WHERE id = \(id)
                """, logger: self.logger)
        }
    }

    // MARK: - Crash recovery and housekeeping

    public func expireLeases(now: Date, maxAttempts: Int) throws -> Int {
        let t = now.timeIntervalSince1970
        return try transaction { c in
            // Locked, skipping rows a claim or an outcome holds now: those are not stuck.
            let expired = try await c.query("""
                SELECT \(unescaped: PostgresJobRow.columns) FROM job
                WHERE state = 'running' AND (leaseUntil IS NULL OR leaseUntil < \(t))
                ORDER BY id FOR UPDATE SKIP LOCKED
                """, logger: self.logger).collect().map(PostgresJobRow.job)
            for job in expired {
                if job.attempts < maxAttempts {
                    try await c.query("UPDATE job SET state = 'queued', workerPID = NULL, leaseUntil = NULL WHERE id = \(job.id)",
                                      logger: self.logger)
                } else {
                    try await self.failForGood(c, job, error: Self.leaseExpiredError(node: job.node, attempts: job.attempts), at: t)
                }
            }
            return expired.count
        }
    }

    public func removeFinished(olderThan cutoff: Date) throws -> Int {
        try transaction { c in
            var removed = 0
            let finished = try await c.query("""
                SELECT id, inputPath FROM job
                WHERE parentID IS NULL AND state IN ('done', 'failed', 'quarantined', 'cancelled')
                  AND finishedAt < \(cutoff.timeIntervalSince1970)
                FOR UPDATE
                """, logger: self.logger).collect().map { try $0.decode((Int64, String).self) }
            for (id, inputPath) in finished where !FileManager.default.fileExists(atPath: inputPath) {
                // Children go with their parent (ON DELETE CASCADE).
                try await c.query("DELETE FROM job WHERE id = \(id)", logger: self.logger)
                removed += 1
            }
            return removed
        }
    }

    // MARK: - Reading

    public func job(_ id: Int64) throws -> Job? {
        try statement { c in
            try await c.query("SELECT \(unescaped: PostgresJobRow.columns) FROM job WHERE id = \(id)", logger: self.logger)
                .collect().first.map(PostgresJobRow.job)
        }
    }

    public func jobs(states: Set<Job.State>?, limit: Int) throws -> [Job] {
        if let states, states.isEmpty { return [] }
        // nil: every state (NULL in SQL, which the filter lets through).
        let names = states.map { $0.map(\.rawValue).sorted() }
        return try statement { c in
            try await c.query("""
                SELECT \(unescaped: PostgresJobRow.columns) FROM job
                WHERE \(names)::text[] IS NULL OR state = ANY (\(names)::text[])
                ORDER BY createdAt DESC, id DESC LIMIT \(limit)
                """, logger: self.logger).collect().map(PostgresJobRow.job)
        }
    }

    public func children(of parent: Int64) throws -> [Job] {
        try statement { c in
            try await c.query("""
                SELECT \(unescaped: PostgresJobRow.columns) FROM job WHERE parentID = \(parent) ORDER BY id
                """, logger: self.logger).collect().map(PostgresJobRow.job)
        }
    }

    public func isCancelled(_ id: Int64) throws -> Bool {
        try statement { c in try await self.fetch(c, id).state == .cancelled }
    }

    public func counts() throws -> [Job.State: Int] {
        try statement { c in
            var counts = Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0, 0) })
            for try await (state, n) in try await c.query("SELECT state, COUNT(*) FROM job GROUP BY state",
                                                         logger: self.logger).decode((String, Int64).self) {
                if let state = Job.State(rawValue: state) { counts[state] = Int(n) }
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
        try transaction { c in
            // Two editors saving at once: the primary key refuses the second of a version, and the
            // transaction is not retried for that, so lock the recording's rows' range first.
            try await c.query("SELECT pg_advisory_xact_lock(hashtext(\(recording) || '\u{1}' || \(hash)))", logger: self.logger)
            let current = try await c.query("""
                SELECT COALESCE(MAX(version), 0) FROM plan_override WHERE recordingPath = \(recording) AND recordingHash = \(hash)
                """, logger: self.logger).collect().first?.decode(Int.self) ?? 0
            if case .some(let expected) = expecting, current != (expected ?? 0) { throw OverrideConflict(newest: current) }
            let next = current + 1
            try await c.query("""
                INSERT INTO plan_override (recordingPath, recordingHash, version, body, createdAt)
                VALUES (\(recording), \(hash), \(next), \(body), \(now.timeIntervalSince1970))
                """, logger: self.logger)
            return next
        }
    }

    public func latestOverride(recording: String, hash: String) throws -> PlanOverride? {
        try statement { c in
            try await c.query("""
                SELECT version, body, createdAt FROM plan_override WHERE recordingPath = \(recording) AND recordingHash = \(hash)
                ORDER BY version DESC LIMIT 1
                """, logger: self.logger).collect().first.map { row in
                let (version, body, created) = try row.decode((Int, String, Double).self)
                return PlanOverride(version: version, body: body, createdAt: Date(timeIntervalSince1970: created))
            }
        }
    }

    public func rerun(_ id: Int64) throws -> Job {
        try transaction { c in
            let job = try await self.fetch(c, id, forUpdate: true)
            let children = try await c.query("SELECT COUNT(*) FROM job WHERE parentID = \(id)", logger: self.logger)
                .collect().first?.decode(Int64.self) ?? 0
            guard job.parentID == nil, children == 0 else {
                throw JobStoreError("job \(id) is split into parts or is a part; run its whole job again with retry")
            }
            switch job.state {
            case .done, .failed, .quarantined, .cancelled:
                try await c.query("""
                    UPDATE job SET state = 'queued', attempts = 0, notBefore = NULL, lastError = NULL,
                                   startedAt = NULL, finishedAt = NULL, workerPID = NULL, leaseUntil = NULL WHERE id = \(id)
                    """, logger: self.logger)
            case .queued:
                try await c.query("UPDATE job SET notBefore = NULL WHERE id = \(id)", logger: self.logger)
            case .running, .waiting:
                throw JobStoreError("job \(id) is \(job.state.rawValue); it can run again once it has ended")
            }
            return try await self.fetch(c, id)
        }
    }

    public func retry(_ id: Int64) throws -> Job {
        try transaction { c in
            let job = try await self.fetch(c, id, forUpdate: true)
            switch job.state {
            case .failed, .quarantined, .cancelled:
                let reset = """
                    UPDATE job SET state = 'queued', attempts = 0, notBefore = NULL, lastError = NULL,
                                   startedAt = NULL, finishedAt = NULL, workerPID = NULL, leaseUntil = NULL
                    """
                let children = try await c.query("SELECT COUNT(*) FROM job WHERE parentID = \(id)", logger: self.logger)
                    .collect().first?.decode(Int64.self) ?? 0
                if children > 0 {
                    // A split job runs all its parts again, the parent waiting: a job that ended
                    // unfinished has lost its published parts (the daemon removes them), so a
                    // finished part's file can't be trusted to be there.
                    try await c.query("\(unescaped: reset), outputs = '{}' WHERE parentID = \(id)", logger: self.logger)
                    try await c.query("""
                        UPDATE job SET state = 'waiting', lastError = NULL, finishedAt = NULL, notBefore = NULL WHERE id = \(id)
                        """, logger: self.logger)
                } else {
                    try await c.query("\(unescaped: reset) WHERE id = \(id)", logger: self.logger)
                }
            case .queued:
                try await c.query("UPDATE job SET notBefore = NULL WHERE id = \(id)", logger: self.logger)
            case .running, .waiting:
                throw JobStoreError("job \(id) is \(job.state.rawValue); nothing to retry")
            case .done:
                throw JobStoreError("job \(id) is done; nothing to retry")
            }
            return try await self.fetch(c, id)
        }
    }

    public func cancel(_ id: Int64, now: Date) throws -> Job {
        try transaction { c in
            var job = try await self.fetch(c, id, forUpdate: true)
            // A part is cancelled with its whole job: the job would wait for it forever.
            if let parent = job.parentID, !job.isFinal || job.state == .failed {
                let whole = try await self.fetch(c, parent, forUpdate: true)
                if whole.state == .waiting { job = whole }
            }
            let target = job.id
            switch job.state {
            case .queued, .failed, .running, .waiting:
                let t = now.timeIntervalSince1970
                try await c.query("""
                    UPDATE job SET state = 'cancelled', finishedAt = \(t), notBefore = NULL, leaseUntil = NULL WHERE id = \(target)
                    """, logger: self.logger)
                try await c.query("""
                    UPDATE job SET state = 'cancelled', finishedAt = \(t), notBefore = NULL, leaseUntil = NULL
                    WHERE parentID = \(target) AND state IN ('queued', 'running', 'failed')
                    """, logger: self.logger)
            case .cancelled:
                break
            case .done:
                throw JobStoreError("job \(id) is done; nothing to cancel")
            case .quarantined:
                throw JobStoreError("job \(id) is quarantined; nothing to cancel")
            }
            return try await self.fetch(c, id)
        }
    }

    // MARK: - Nodes

    public func heartbeat(_ s: NodeStatus) throws {
        try statement { c in
            try await c.query("""
                INSERT INTO node (name, host, pid, role, load, running, watching, startedAt, seenAt, progress)
                VALUES (\(s.name), \(s.host), \(Int64(s.pid)), \(s.role), \(s.load), \(s.running), \(s.watching),
                        \(s.startedAt.timeIntervalSince1970), \(s.seenAt.timeIntervalSince1970), \(JobProgressReport.encode(s.progress)))
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, role = excluded.role,
                    load = excluded.load, running = excluded.running, watching = excluded.watching,
                    startedAt = excluded.startedAt, seenAt = excluded.seenAt, progress = excluded.progress
                """, logger: self.logger)
        }
    }

    public func nodes(seenSince since: Date) throws -> [NodeStatus] {
        try statement { c in
            try await c.query("""
                SELECT name, host, pid, role, load, running, watching, startedAt, seenAt, progress FROM node
                WHERE seenAt >= \(since.timeIntervalSince1970) ORDER BY name
                """, logger: self.logger).collect().map { row in
                let (name, host, pid, role, load, running, watching, startedAt, seenAt, progress) =
                    try row.decode((String, String, Int64, String, Double, [Int64], [String], Double, Double, String).self)
                return NodeStatus(name: name, host: host, pid: Int32(truncatingIfNeeded: pid), role: role, load: load,
                                  running: running, watching: watching,
                                  startedAt: Date(timeIntervalSince1970: startedAt), seenAt: Date(timeIntervalSince1970: seenAt),
                                  progress: JobProgressReport.decode(progress))
            }
        }
    }

    /// A session-level advisory lock on a connection of its own, held while that session lives.
    public func holdWatch(_ folder: String, node: String) throws -> WatchHold? {
        do {
            return try PostgresWatchHold.take(folder: folder, configuration: sessionConfiguration, timeout: callTimeout, logger: logger)
        } catch let error as BlockingTimedOut {
            throw JobStoreError("\(location): cannot take the watch of \(folder): \(error); the call timed out and its connection was closed")
        } catch {
            throw JobStoreError("\(location): cannot take the watch of \(folder): \(PostgresErrorText.describe(error))")
        }
    }

    // MARK: - Plumbing

    private struct Kind: Sendable { var name: String; var priority: Int }

    /// `body` in one transaction on a pooled connection. A transaction PostgreSQL aborted to break
    /// a deadlock (or a serialization failure) is run again, a few times: the statements are
    /// all-or-nothing, so running them again is safe.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        try wrapped {
            try onConnection { c in
                    var attempt = 0
                    while true {
                        attempt += 1
                        try await c.query("BEGIN", logger: self.logger)
                        do {
                            let value = try await body(c)
                            try await c.query("COMMIT", logger: self.logger)
                            return value
                        } catch {
                            _ = try? await c.query("ROLLBACK", logger: self.logger)
                            if attempt < 5, PostgresErrorText.isRetryable(error) { continue }
                            throw error
                        }
                    }
            }
        }
    }

    /// One statement outside an explicit transaction: PostgreSQL runs it as a transaction of its
    /// own, in one round trip instead of three (BEGIN, it, COMMIT). For reads, and for changes that
    /// are a single statement (a claim is one UPDATE).
    private func statement<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        try wrapped { try onConnection(body) }
    }

    /// `body` on a pooled connection, within `callTimeout`: past it, the call throws and its
    /// connection is closed, so a query the server never answers does not hold it (or the caller).
    private func onConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        let inUse = ConnectionInUse()
        do {
            return try blocking(timeout: callTimeout) {
                // A call given up on closes its connection (abandon); until the pool has noticed,
                // the next call may be handed that closed connection and fail before sending
                // anything. Such a call takes another connection, within the same time limit.
                var attempt = 0
                while true {
                    attempt += 1
                    do {
                        return try await self.client.withConnection { c in
                            inUse.use(c)
                            return try await body(c)
                        }
                    } catch let error as PSQLError where error.code == .clientClosedConnection && attempt < 3 && !inUse.isAbandoned {
                        continue
                    }
                }
            }
        } catch let error as BlockingTimedOut {
            inUse.abandon()
            throw JobStoreError("\(location): \(error): the call timed out; its connection was closed and is replaced")
        }
    }

    private func wrapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StaleClaim {
            throw error
        } catch let error as OverrideConflict {
            throw error
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("\(location): \(PostgresErrorText.describe(error))")
        }
    }

    private func fetch(_ c: PostgresConnection, _ id: Int64, forUpdate: Bool = false) async throws -> Job {
        let rows = try await c.query("""
            SELECT \(unescaped: PostgresJobRow.columns) FROM job WHERE id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")
            """, logger: logger).collect()
        guard let row = rows.first else { throw JobStoreError("\(location): no job \(id)") }
        return try PostgresJobRow.job(row)
    }

    /// The job, locked for this transaction, when `claim` is its current claim and it still runs;
    /// else `StaleClaim`.
    private func current(_ c: PostgresConnection, _ claim: Claim) async throws -> Job {
        let job = try await fetch(c, claim.jobID, forUpdate: true)
        guard job.state == .running, job.fence == claim.fence else {
            throw StaleClaim(claim: claim, currentFence: job.fence, state: job.state)
        }
        return job
    }
}
