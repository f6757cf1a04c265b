import Foundation
import Metrics
import RepriseJobs

/// What the daemon reports through swift-metrics (exported as Prometheus text by the console's
/// `/metrics`; without a console the calls go to the no-op backend). Jobs by state are read from
/// the store at scrape time, not counted here.
enum DaemonMetrics {
    /// A finished attempt: its duration by form and outcome, encoded frames and bytes written.
    static func attemptFinished(_ job: Job, outcome: String, seconds: Double, result: String?, outputs: [String]) {
        let form = formLabel(job.kind)
        Metrics.Timer(label: "reprise_job_duration_seconds", dimensions: [("form", form), ("outcome", outcome)],
                      preferredDisplayUnit: .seconds).recordNanoseconds(Int64(max(seconds, 0) * 1e9))
        // A stitch copies what its chunks encoded, and an audio part encodes no frames.
        let encodes = !job.kind.hasPrefix("stitch:") && !job.kind.hasPrefix("audio:")
        if encodes, let result, let frames = encodedFrames(inResult: result), frames > 0 {
            Counter(label: "reprise_encoded_frames_total", dimensions: [("form", form)]).increment(by: frames)
            if seconds > 0 {
                Gauge(label: "reprise_encoded_frames_per_second", dimensions: [("form", form)]).record(Double(frames) / seconds)
            }
        }
        let bytes = outputs.reduce(Int64(0)) { $0 + treeSize($1) }
        if bytes > 0 { Counter(label: "reprise_bytes_written_total", dimensions: [("form", form)]).increment(by: bytes) }
    }

    /// Time from queued (or from the end of a retry's backoff) to claimed.
    static func claimed(_ job: Job, at now: Date) {
        let since = max(job.createdAt, job.notBefore ?? job.createdAt)
        Metrics.Timer(label: "reprise_queue_wait_seconds", dimensions: [("form", formLabel(job.kind))], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(max(now.timeIntervalSince(since), 0) * 1e9))
    }

    static func failure(_ message: String) {
        Counter(label: "reprise_failures_total", dimensions: [("reason", failureReason(message))]).increment()
    }

    /// A file's size, or a folder's (an HLS ladder) summed over its files.
    static func treeSize(_ path: String) -> Int64 {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        func size(_ p: String) -> Int64 { (try? fm.attributesOfItem(atPath: p)[.size] as? NSNumber)?.int64Value ?? 0 }
        guard isDir.boolValue else { return size(path) }
        var total: Int64 = 0
        let walker = fm.enumerator(atPath: path)
        while let name = walker?.nextObject() as? String {
            let p = (path as NSString).appendingPathComponent(name)
            var sub: ObjCBool = false
            if fm.fileExists(atPath: p, isDirectory: &sub), !sub.boolValue { total += size(p) }
        }
        return total
    }

    /// A small, fixed set of reasons (a label per message would grow without end), told by the
    /// daemon's own phrases, which come before any path in its messages.
    static func failureReason(_ message: String) -> String {
        let m = message.lowercased()
        let phrases: [(String, [String])] = [
            ("lease", ["lease expired on node", "lease lost"]),
            ("stalled", ["no progress for", "stalled"]),
            ("bad-input", ["not a readable media file", "has no video stream", "holds no readable video packets"]),
            ("disk-space", ["free space", "disk_reserve"]),
            ("publish", ["can't publish", "can't make the staging folder"]),
            ("input-unavailable", ["the input is gone", "is not configured on node"]),
        ]
        return phrases.first { $0.1.contains { m.contains($0) } }?.0 ?? "job-error"
    }

    /// The job's kind: a form (`transcode:long-form-720p`) or a part of one (`chunk:ladder:default`),
    /// a set as small as the configured forms.
    static func formLabel(_ kind: String) -> String { kind }

    /// Frames the job wrote: its outputs' `frames` summed (one pass may make several outputs),
    /// else the result's own `frames`; nil when the result names none.
    static func encodedFrames(inResult result: String) -> Int64? {
        guard let data = result.data(using: .utf8), let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        let perOutput = ((object["outputs"] as? [Any]) ?? []).compactMap { (($0 as? [String: Any])?["frames"] as? NSNumber)?.int64Value }
        if !perOutput.isEmpty { return perOutput.reduce(0, +) }
        return (object["frames"] as? NSNumber)?.int64Value
    }
}
