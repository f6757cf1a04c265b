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
        if let result, let frames = encodedFrames(inResult: result), frames > 0 {
            Counter(label: "reprise_encoded_frames_total", dimensions: [("form", form)]).increment(by: frames)
            if seconds > 0 {
                Gauge(label: "reprise_encoded_frames_per_second", dimensions: [("form", form)]).record(Double(frames) / seconds)
            }
        }
        let bytes = outputs.reduce(Int64(0)) { sum, path in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0)
        }
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

    /// A small, fixed set of reasons (a label per message would grow without end).
    static func failureReason(_ message: String) -> String {
        let m = message.lowercased()
        if m.contains("lease") { return "lease" }
        if m.contains("stall") || m.contains("no progress") { return "stalled" }
        if m.contains("not a readable media file") || m.contains("has no video stream") || m.contains("holds no readable video packets") { return "bad-input" }
        if m.contains("space") || m.contains("disk_reserve") { return "disk-space" }
        if m.contains("publish") || m.contains("rename") { return "publish" }
        if m.contains("is gone") || m.contains("not configured") { return "input-unavailable" }
        return "job-error"
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
