import Foundation

/// The daemon's durable queue, whatever engine keeps it: SQLite (`SQLiteJobStore`, one machine,
/// nothing to install) or PostgreSQL (`PostgresJobStore`, many nodes). Both pass one contract
/// test suite (`JobStoreContract` in the tests); the daemon and the CLI see only this protocol.
///
/// Work is claimed under a lease: `claimNext` hands out a `Claim` with a fencing token and a
/// deadline. The node renews it while the job runs; a node that can't renew in time stops the job
/// and publishes nothing. Every outcome (`markDone`, `markFailed`, `release`, `split`) carries the
/// claim, and one whose token is no longer the job's current one is refused with `StaleClaim`:
/// a node cut off from the store can never overwrite what another node did after it.
///
/// Calls are synchronous and may be made from any thread (the daemon's workers are threads).
public protocol JobStore: AnyObject, Sendable {
    /// Names the store in messages: the SQLite file, or `postgres://user@host:port/db`.
    var location: String { get }

    // MARK: Enqueue and claim

    /// One job per (input path, input hash, kind), whatever that job's state: the same file is
    /// never processed twice; a changed file (new hash) gets new jobs. Returns the jobs created.
    func enqueue(_ input: InputIdentity, watchFolder: String, kinds: [(kind: String, priority: Int)], now: Date) throws -> [Job]

    /// Atomically takes the next runnable job: queued, `notBefore` passed, every job it `needs`
    /// done; lowest priority first, then oldest. It becomes running with attempts + 1, a fresh
    /// fencing token, `node` and `workerPID` set and a lease until `now + lease`. nil when none.
    func claimNext(node: String, pid: Int32, lease: TimeInterval, now: Date) throws -> (Job, Claim)?

    /// Extends the lease to `now + lease`. false when the claim is stale (the lease expired and the
    /// job was re-queued or taken by another node, or it was cancelled): the caller must stop.
    func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool

    // MARK: Outcomes of an attempt (each refused with `StaleClaim` for a stale token)

    /// Done, with the outputs it published. A child that `completesParent` makes its parent done
    /// with the same outputs.
    func markDone(_ claim: Claim, outputs: [String], now: Date) throws

    /// A failed attempt: back to queued with `notBefore = now + backoff` while attempts <
    /// maxAttempts, else failed (and a child's parent fails with it). Returns the updated job.
    func markFailed(_ claim: Claim, error: String, maxAttempts: Int, now: Date) throws -> Job

    /// Shutdown: back to queued, the attempt given back (attempts - 1). false when already stale.
    func release(_ claim: Claim) throws -> Bool

    /// The claimed job becomes `waiting` and gets `children` (chunks, audio, a stitch) in the same
    /// transaction. It finishes when its child with `completesParent` does. Returns the children.
    func split(_ claim: Claim, into children: [JobDraft], now: Date) throws -> [Job]

    /// The input is bad: quarantined with the reason. Any state but done and cancelled.
    func markQuarantined(_ id: Int64, reason: String, now: Date) throws

    // MARK: Crash recovery and housekeeping

    /// Running jobs whose lease ended before `now` go back to queued (attempts kept: the attempt may
    /// be what killed the node), or, once `attempts` reached `maxAttempts`, fail as `markFailed`
    /// would (error "lease expired on node N after K attempts"; a part's whole job fails with
    /// it): a job that crashes every node that takes it must not loop forever. Returns how many
    /// expired (re-queued and failed).
    func expireLeases(now: Date, maxAttempts: Int) throws -> Int

    /// Deletes finished top-level jobs (and their children) that finished before `cutoff` and
    /// whose input file is gone (a row is also the record that its input was seen).
    func removeFinished(olderThan cutoff: Date) throws -> Int

    // MARK: Reading

    func job(_ id: Int64) throws -> Job?
    /// Newest first; all states when `states` is nil. Children included.
    func jobs(states: Set<Job.State>?, limit: Int) throws -> [Job]
    /// A split job's children, in the order they were drafted.
    func children(of parent: Int64) throws -> [Job]
    func isCancelled(_ id: Int64) throws -> Bool
    /// Every state, zero included.
    func counts() throws -> [Job.State: Int]

    // MARK: Operator commands

    /// failed/quarantined/cancelled → queued, attempts 0 (a split job's unfinished children too).
    /// A queued job loses its backoff. Error when running, waiting or done.
    func retry(_ id: Int64) throws -> Job
    /// queued/failed/running/waiting → cancelled, with every unfinished child; done and
    /// quarantined → error.
    func cancel(_ id: Int64, now: Date) throws -> Job

    // MARK: Plan overrides (the console's edits)

    /// Stores `body` (JSON) as the recording's next plan override; returns its version (1, 2, …).
    /// Versions are kept: a later run reads the newest, and older ones say what was changed when.
    func saveOverride(recording: String, hash: String, body: String, now: Date) throws -> Int
    /// As above, only while the newest version is still `over` (nil: none yet), the one `body` was
    /// merged over; else nothing is saved and `OverrideConflict` names the newest. Two editors
    /// saving at once can't drop each other's changes.
    func saveOverride(recording: String, hash: String, body: String, over: Int?, now: Date) throws -> Int
    /// The recording's newest plan override, or nil.
    func latestOverride(recording: String, hash: String) throws -> PlanOverride?
    /// A finished top-level job queued again to render an edit (attempts 0, no backoff); its
    /// outputs stay in place until the new ones replace them. A queued job stays queued; running,
    /// waiting or split jobs are refused.
    func rerun(_ id: Int64) throws -> Job

    // MARK: Nodes

    /// Records that `node` is alive (its name, pid, host, load, running jobs) at `status.seenAt`.
    func heartbeat(_ status: NodeStatus) throws
    /// Nodes whose last heartbeat is at or after `since`, by name.
    func nodes(seenSince since: Date) throws -> [NodeStatus]

    /// Takes the watcher role for `folder` for as long as the returned hold lives (PostgreSQL: an
    /// advisory lock on a session of its own; SQLite: a file lock). nil when another live node
    /// holds it: the caller is a standby and asks again later.
    func holdWatch(_ folder: String, node: String) throws -> WatchHold?
}

public extension JobStore {
    func enqueue(_ input: InputIdentity, watchFolder: String, kinds: [(kind: String, priority: Int)]) throws -> [Job] {
        try enqueue(input, watchFolder: watchFolder, kinds: kinds, now: Date())
    }
    func jobs(states: Set<Job.State>? = nil) throws -> [Job] { try jobs(states: states, limit: 1000) }

    /// Expired leases re-queued whatever their attempts.
    func expireLeases(now: Date) throws -> Int { try expireLeases(now: now, maxAttempts: Int.max) }

    /// Why a job whose lease ran out on its last attempt failed.
    static func leaseExpiredError(node: String?, attempts: Int) -> String {
        "lease expired on node \(node ?? "?") after \(attempts) attempt\(attempts == 1 ? "" : "s")"
    }

    /// Wait before the next attempt after `attempts` failed ones: 30 s × 2^(attempts-1), at most 1 h.
    static func backoff(afterAttempts attempts: Int) -> TimeInterval { JobBackoff.after(attempts: attempts) }
}

public enum JobBackoff {
    /// 30 s × 2^(attempts-1), at most 1 h.
    public static func after(attempts: Int) -> TimeInterval {
        let doublings = max(attempts - 1, 0)
        return doublings >= 7 ? 3600 : min(TimeInterval(30 << doublings), 3600)
    }
}

/// One version of a recording's plan override: JSON the highlights run applies (see
/// `PlanOverrides` in RepriseHighlights).
public struct PlanOverride: Sendable, Equatable, Codable {
    public var version: Int
    public var body: String
    public var createdAt: Date
    public init(version: Int, body: String, createdAt: Date) { self.version = version; self.body = body; self.createdAt = createdAt }
}

/// Proof that a node holds a job: its fencing token is the job's current one until the lease
/// expires or the job is taken back.
public struct Claim: Sendable, Equatable, Codable {
    public var jobID: Int64
    /// Grows by one at every claim of the job, never reused.
    public var fence: Int64
    public var node: String
    public init(jobID: Int64, fence: Int64, node: String) { self.jobID = jobID; self.fence = fence; self.node = node }
}

/// An outcome refused because its claim is no longer the job's current one.
public struct StaleClaim: Error, CustomStringConvertible, Sendable, Equatable {
    public var claim: Claim
    public var currentFence: Int64
    public var state: Job.State
    public init(claim: Claim, currentFence: Int64, state: Job.State) { self.claim = claim; self.currentFence = currentFence; self.state = state }
    public var description: String {
        if currentFence == claim.fence {
            return "job \(claim.jobID) is \(state.rawValue), not running under node \(claim.node)'s claim (fence \(claim.fence)); refused"
        }
        return "job \(claim.jobID) was claimed again (fence \(currentFence), \(state.rawValue)) after node \(claim.node)'s claim (fence \(claim.fence)); refused"
    }
}

/// A child job to add under a claimed parent (`JobStore.split`).
public struct JobDraft: Sendable, Equatable {
    /// e.g. "chunk:transcode:long-form-720p", "audio:transcode:long-form-720p", "stitch:…".
    public var kind: String
    public var priority: Int
    /// What the child does, as JSON text for the job process (a chunk's range, the stitch's parts).
    public var payload: String
    /// Indexes into the same drafts array: this child is not claimed before those are done.
    public var needs: [Int]
    /// Its success is the parent's: the parent becomes done with the same outputs.
    public var completesParent: Bool
    public init(kind: String, priority: Int, payload: String, needs: [Int] = [], completesParent: Bool = false) {
        self.kind = kind; self.priority = priority; self.payload = payload; self.needs = needs; self.completesParent = completesParent
    }
}

/// A live node as the store last heard of it.
public struct NodeStatus: Sendable, Equatable, Codable {
    /// host + pid by default (`reprise daemon --node NAME` overrides).
    public var name: String
    public var host: String
    public var pid: Int32
    /// "all", "worker" or "watcher".
    public var role: String
    /// 1-minute load average of the host.
    public var load: Double
    /// Job ids it runs now.
    public var running: [Int64]
    /// Watch folders it holds.
    public var watching: [String]
    public var startedAt: Date
    public var seenAt: Date
    /// What its running jobs last said of their progress, so a console on any node shows it.
    public var progress: [JobProgressReport]
    public init(name: String, host: String, pid: Int32, role: String, load: Double, running: [Int64], watching: [String],
                startedAt: Date, seenAt: Date, progress: [JobProgressReport] = []) {
        self.name = name; self.host = host; self.pid = pid; self.role = role; self.load = load; self.running = running
        self.watching = watching; self.startedAt = startedAt; self.seenAt = seenAt; self.progress = progress
    }
}

/// A running job's progress as its node reports it in the heartbeat: the stage, the fraction of
/// it done, and when the attempt and the stage started (a reader works the ETA out from them).
public struct JobProgressReport: Sendable, Equatable, Codable {
    public var job: Int64
    public var stage: String
    public var fraction: Double
    public var startedAt: Date
    public var stageStartedAt: Date
    public init(job: Int64, stage: String, fraction: Double, startedAt: Date, stageStartedAt: Date) {
        self.job = job; self.stage = stage; self.fraction = fraction; self.startedAt = startedAt; self.stageStartedAt = stageStartedAt
    }

    /// As both stores keep it: a JSON array, times in Unix seconds.
    public static func encode(_ reports: [JobProgressReport]) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return (try? encoder.encode(reports)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// What `encode` wrote; anything unreadable is no progress (a console shows none).
    public static func decode(_ text: String) -> [JobProgressReport] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return (try? decoder.decode([JobProgressReport].self, from: Data(text.utf8))) ?? []
    }
}

/// The watcher role for one folder, held until `release()` or the holder's death.
public protocol WatchHold: AnyObject, Sendable {
    var folder: String { get }
    /// false once the hold is lost (the session to the store ended); the watcher must stop watching.
    var isHeld: Bool { get }
    func release()
}
