import Foundation
import RepriseJobs

/// What this node's running jobs last said of their progress (the children's
/// `{"event":"progress",…}` lines), for the console: the store holds states, not fractions.
public final class JobProgressBoard: @unchecked Sendable {
    /// A job's stage, fraction and start times: the same record the heartbeat carries to the store.
    public typealias Entry = JobProgressReport

    private let lock = NSLock()
    private var entries: [Int64: Entry] = [:]

    public init() {}

    func started(_ job: Int64, at date: Date) { lock.withLock { entries[job] = Entry(job: job, stage: "starting", fraction: 0, startedAt: date, stageStartedAt: date) } }
    func ended(_ job: Int64) { _ = lock.withLock { entries.removeValue(forKey: job) } }

    /// A child's stdout line; anything but a progress event is ignored.
    func record(line: String, job: Int64) {
        guard line.contains("\"progress\""), let data = line.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              object["event"] as? String == "progress", let stage = object["stage"] as? String,
              let fraction = (object["fraction"] as? NSNumber)?.doubleValue, fraction.isFinite else { return }
        lock.withLock {
            guard var e = entries[job] else { return }
            if e.stage != stage { e.stage = stage; e.stageStartedAt = Date() }
            e.fraction = min(max(fraction, 0), 1)
            entries[job] = e
        }
    }

    public func entry(_ job: Int64) -> Entry? { lock.withLock { entries[job] } }
    public func all() -> [Int64: Entry] { lock.withLock { entries } }

    /// Seconds left in the current stage at its pace so far: elapsed × (1 − f) / f; nil before 1 %.
    public static func eta(_ e: Entry, now: Date = Date()) -> Double? {
        guard e.fraction >= 0.01 else { return nil }
        return now.timeIntervalSince(e.stageStartedAt) * (1 - e.fraction) / e.fraction
    }
}
