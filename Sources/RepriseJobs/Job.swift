import Foundation

/// One thing to make from one input: a row of the job store.
public struct Job: Codable, Sendable, Equatable, Identifiable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Waiting to be claimed (possibly not before `notBefore`, after a failed attempt).
        case queued
        /// Claimed by node `node` (process `workerPID`) under a lease until `leaseUntil`.
        case running
        /// Split into child jobs (chunks, audio, stitch); finishes when they do.
        case waiting
        case done
        /// Out of attempts.
        case failed
        /// The input itself is bad (undecodable, wrong format): retrying would not help.
        case quarantined
        case cancelled
    }

    public var id: Int64
    public var input: InputIdentity
    public var watchFolder: String
    /// What to make, e.g. "transcode:vertical-short", "ladder:default", "highlights:default".
    public var kind: String
    /// Lower runs first (shorts before long renders).
    public var priority: Int
    public var state: State
    /// Attempts started; a failed one counts, one interrupted by a shutdown does not.
    public var attempts: Int
    public var lastError: String?
    /// Published output paths.
    public var outputs: [String]
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Retry backoff: not claimed before this.
    public var notBefore: Date?
    /// The daemon process that claimed it.
    public var workerPID: Int32?
    /// The node that claimed it last.
    public var node: String?
    /// The fencing token of the current (or last) claim; 0 before the first.
    public var fence: Int64
    /// While running: the claim's lease ends here unless renewed.
    public var leaseUntil: Date?
    /// A child's parent (the job that was split).
    public var parentID: Int64?
    /// A child's work order (JSON), see `JobDraft.payload`.
    public var payload: String?
    /// A child's siblings that must be done before it is claimed.
    public var needs: [Int64]
    /// A child whose success finishes its parent.
    public var completesParent: Bool

    public init(id: Int64, input: InputIdentity, watchFolder: String, kind: String, priority: Int,
                state: State, attempts: Int, lastError: String? = nil, outputs: [String] = [],
                createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, notBefore: Date? = nil,
                workerPID: Int32? = nil, node: String? = nil, fence: Int64 = 0, leaseUntil: Date? = nil,
                parentID: Int64? = nil, payload: String? = nil, needs: [Int64] = [], completesParent: Bool = false) {
        self.id = id
        self.input = input
        self.watchFolder = watchFolder
        self.kind = kind
        self.priority = priority
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.outputs = outputs
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.notBefore = notBefore
        self.workerPID = workerPID
        self.node = node
        self.fence = fence
        self.leaseUntil = leaseUntil
        self.parentID = parentID
        self.payload = payload
        self.needs = needs
        self.completesParent = completesParent
    }

    /// Finished for good (until an operator's retry).
    public var isFinal: Bool { [.done, .failed, .quarantined, .cancelled].contains(state) }
}
