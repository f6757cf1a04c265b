import Foundation
import RepriseDaemon
import RepriseJobs

/// A job as the API and the pages show it.
public struct JobView: Codable, Sendable, Equatable {
    public struct Progress: Codable, Sendable, Equatable {
        public var stage: String
        public var fraction: Double
        public var etaSeconds: Double?
    }
    public var id: Int64
    public var form: String
    public var state: String
    public var recording: String
    public var recordingName: String
    public var attempts: Int
    public var error: String?
    public var outputs: [String]
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var node: String?
    public var parent: Int64?
    /// While it runs: its child's last progress line (this node's own, or its node's heartbeat).
    public var progress: Progress?

    init(_ job: Job, progress entry: JobProgressBoard.Entry?, now: Date = Date()) {
        id = job.id; form = job.kind; state = job.state.rawValue
        recording = job.input.path; recordingName = (job.input.path as NSString).lastPathComponent
        attempts = job.attempts; error = job.lastError; outputs = job.outputs
        createdAt = job.createdAt; startedAt = job.startedAt; finishedAt = job.finishedAt
        node = job.node; parent = job.parentID
        if job.state == .running, let entry {
            progress = .init(stage: entry.stage, fraction: entry.fraction, etaSeconds: JobProgressBoard.eta(entry, now: now))
        }
    }
}

/// Which jobs a list shows: `?state=failed,queued&form=ladder:default&recording=shop-a&limit=200`.
public struct JobFilter: Sendable, Equatable {
    public var states: Set<Job.State>?
    public var form: String?
    /// A part of the recording's path (case-insensitive).
    public var recording: String?
    public var limit: Int
    /// Parts of split jobs are listed only when asked for.
    public var includeParts: Bool

    public init(states: Set<Job.State>? = nil, form: String? = nil, recording: String? = nil, limit: Int = 200, includeParts: Bool = false) {
        self.states = states; self.form = form; self.recording = recording; self.limit = limit; self.includeParts = includeParts
    }

    public init(query: [String: String]) throws {
        self.init()
        if let s = query["state"], !s.isEmpty {
            var set = Set<Job.State>()
            for name in s.split(separator: ",") {
                guard let state = Job.State(rawValue: String(name)) else {
                    throw ConsoleError(.badRequest, "state: '\(name)' is not one of \(Job.State.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(state)
            }
            states = set
        }
        if let f = query["form"], !f.isEmpty { form = f }
        if let r = query["recording"], !r.isEmpty { recording = r }
        if let l = query["limit"] {
            guard let n = Int(l), (1...10_000).contains(n) else { throw ConsoleError(.badRequest, "limit: a whole number from 1 to 10000") }
            limit = n
        }
        if let p = query["parts"] {
            guard ["0", "1", "true", "false"].contains(p) else { throw ConsoleError(.badRequest, "parts: 0, 1, true or false") }
            includeParts = p == "1" || p == "true"
        }
    }

    /// `localPath`: the job's recording where this node sees it (what the filter is typed against).
    func admits(job: Job, localPath: String) -> Bool {
        if !includeParts && job.parentID != nil { return false }
        if let form, job.kind != form { return false }
        if let recording, !localPath.lowercased().contains(recording.lowercased()) { return false }
        return true
    }
}
