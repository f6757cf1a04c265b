import Foundation

/// One thing to make from one input: a row of the job store.
public struct Job: Codable, Sendable, Equatable, Identifiable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Waiting to be claimed (possibly not before `notBefore`, after a failed attempt).
        case queued
        /// Claimed by the daemon process `workerPID`.
        case running
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

    public init(id: Int64, input: InputIdentity, watchFolder: String, kind: String, priority: Int,
                state: State, attempts: Int, lastError: String? = nil, outputs: [String] = [],
                createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, notBefore: Date? = nil,
                workerPID: Int32? = nil) {
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
    }
}
