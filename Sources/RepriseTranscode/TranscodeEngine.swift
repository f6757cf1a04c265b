import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles

public struct TranscodeRequest: Sendable {
    public struct Output: Sendable {
        public var profile: Profile
        public var path: String
        public init(profile: Profile, path: String) { self.profile = profile; self.path = path }
    }
    public var input: String
    public var outputs: [Output]
    /// nil: the whole recording.
    public var range: RangeRequest?
    /// Chapter marks in the recording's time (seconds); written into outputs whose profile keeps chapters.
    public var chapters: [ChapterMark] = []
    /// IDRs forced on the `gop_seconds` grid, closed GOPs, no scene-cut keyframes: the output a
    /// chunked encode of the same profile reproduces (see `ChunkEncoder`).
    public var keyframeGrid = false
    /// Each output's audio alone (the audio part of a chunked encode): the video is left out.
    public var audioOnly = false
    public init(input: String, outputs: [Output], range: RangeRequest? = nil) {
        self.input = input; self.outputs = outputs; self.range = range
    }
}

/// A chapter as a caller gives it: a title from `start` seconds of the recording (to `end`, or the next mark).
public struct ChapterMark: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double?
    public var title: String
    public init(start: Double, end: Double? = nil, title: String) { self.start = start; self.end = end; self.title = title }
}

/// Runs several profiles from one decode of the source: one read, one video decode, one audio
/// decode; each output filters and encodes on its own queue, so encoders run side by side and
/// the decode runs ahead of them.
public final class TranscodeEngine {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    public func run(_ request: TranscodeRequest) throws -> TranscodeResult {
        let started = Date()
        try InputChecks.validate(input: request.input)
        for o in request.outputs { try InputChecks.validate(output: o.path, input: request.input) }

        let source = try SourceSession(input: request.input, range: request.range, progress: progress)
        let (plan, planner, base, reader) = (source.plan, source.planner, source.timeBase, source.reader)
        let (videoInput, audioInput, info, frameRate) = (source.videoInput, source.audioInput, source.info, source.frameRate)

        let spans = request.outputs.map { TranscodeEngine.span(profile: $0.profile, planner: planner, plan: plan) }

        // Measure, then apply: the loudness each output's chain starts from.
        var measured: [LoudnessPrepass.Key: Loudness] = [:]
        if let a = reader.audioStream, let abase = reader.audioTimeBase {
            let keys = Set(zip(request.outputs, spans).filter { $0.0.profile.audio.loudness != nil }
                .map { LoudnessPrepass.Key(channels: $0.0.profile.audio.channels, duration: base.seconds($0.1.end)) })
            if !keys.isEmpty {
                progress?.update(stage: "loudness", fraction: 0)
                measured = try LoudnessPrepass.measure(path: request.input, index: source.index, audioStream: a,
                                                       start: base.rescale(plan.firstPTS, to: abase), keys: keys)
                progress?.update(stage: "loudness", fraction: 1)
            }
        }

        // Outputs whose profile the source's video already fits copy it; the others share the decode.
        let facts = SourceFit.Facts(info: info, index: source.index, first: plan.firstPTS, end: plan.endPTS)
        let paths = request.outputs.map { o in
            if request.audioOnly { return VideoPath(path: .reencoded, reason: "audio only: the video is left out") }
            // A chunk is always encoded, so the whole output it must match is too.
            if request.keyframeGrid { return VideoPath(path: .reencoded, reason: "keyframes forced on the \(o.profile.video.gopSeconds) s grid") }
            return SourceFit.decide(profile: o.profile, facts: facts)
        }
        for (o, path) in zip(request.outputs, paths) { progress?.note("\(o.path): video \(path.path.rawValue): \(path.reason)") }

        let chapters = TranscodeEngine.chapters(request.chapters, plan: plan, timeBase: base, origin: planner.origin)
        var pipelines: [OutputPipeline] = []
        do {
            for (n, (o, span)) in zip(request.outputs, spans).enumerated() where paths[n].path != .copied {
                let key = LoudnessPrepass.Key(channels: o.profile.audio.channels, duration: base.seconds(span.end))
                var container = OutputPipeline.Container.file(o.profile.container)
                if request.keyframeGrid { container.keyframeSeconds = o.profile.video.gopSeconds }
                if request.audioOnly { container.video = false }
                let setup = OutputPipeline.Setup(container: container, videoInput: videoInput, audioInput: audioInput, sourceRotation: info.rotation,
                                                 sourceFrameRate: frameRate, videoLimit: span.limit, videoEnd: span.end,
                                                 measured: measured[key], chapters: chapters)
                let pipeline: OutputPipeline
                do { pipeline = try OutputPipeline(profile: o.profile, path: o.path, setup: setup) } catch let e as MediaError {
                    throw CutError(.failed, path: o.path, detail: "\(o.profile.name): \(e.description)")
                } catch let e as TranscodeError {
                    throw CutError(.unsupported, path: o.path, detail: "\(o.profile.name): \(e.description)")
                }
                if let note = span.note { pipeline.notes.append(note) }
                pipelines.append(pipeline)
            }
        } catch {
            pipelines.forEach { $0.discard() }
            throw error
        }
        for p in pipelines { for n in p.notes { progress?.note("\(p.path): \(n)") } }

        let kept = pipelines.isEmpty ? plan.frameCount : try source.run(pipelines, progress: progress, decodesVideo: !request.audioOnly)

        var reports: [OutputReport] = []
        var remaining = pipelines[...]
        for (n, (o, span)) in zip(request.outputs, spans).enumerated() {
            let key = LoudnessPrepass.Key(channels: o.profile.audio.channels, duration: base.seconds(span.end))
            guard paths[n].path == .copied else {
                let p = remaining.removeFirst()
                reports.append(OutputReport(pipeline: p, measuredInput: measured[key], video: paths[n]))
                continue
            }
            // The same frames the decode would give: the planned range, cut where the profile's duration.max ends it.
            var range = request.range ?? RangeRequest(from: .frame(0), to: .frame(planner.order.count))
            if span.end < plan.endPTS - plan.firstPTS {
                range = RangeRequest(from: .frame(TranscodeEngine.frameIndex(planner: planner, at: plan.firstPTS)),
                                     to: .frame(TranscodeEngine.frameIndex(planner: planner, at: plan.firstPTS + span.end)))
            }
            let job = SourceCopy.Job(input: request.input, output: o.path, profile: o.profile, range: range,
                                     duration: base.seconds(span.end), measured: measured[key], chapters: chapters,
                                     facts: facts, path: paths[n])
            var report: OutputReport
            do { report = try SourceCopy.run(job, progress: progress) } catch {
                // One request, all or nothing: what this request already published goes too.
                for done in pipelines.map(\.path) + reports.filter({ $0.video.path == .copied }).map(\.output) {
                    try? FileManager.default.removeItem(atPath: done)
                }
                throw error
            }
            if let note = span.note { report.notes.insert(note, at: 0) }
            reports.append(report)
        }
        progress?.update(stage: "done", fraction: 1)

        let from = base.seconds(plan.firstPTS - planner.origin)
        return TranscodeResult(input: request.input, from: from, to: base.seconds(plan.endPTS - planner.origin),
                               frames: kept, outputs: reports, seconds: Date().timeIntervalSince(started))
    }

    /// Where one output ends: the range's end, or earlier where the profile's duration.max cuts it.
    struct Span { var limit: Int64; var end: Int64; var note: String? }

    /// Frames at or after `limit` are left out; the last kept frame ends at `end` (both relative
    /// to the range's first frame, video time base).
    static func span(profile: Profile, planner: CutPlanner, plan: PlannedRange) -> Span {
        let base = planner.timeBase
        let full = plan.endPTS - plan.firstPTS
        guard let max = profile.maxDuration, base.ticks(seconds: max) < full else {
            return Span(limit: full, end: full, note: nil)
        }
        let limit = base.ticks(seconds: max)
        let end = frameEnd(planner: planner, plan: plan, before: plan.firstPTS + limit) - plan.firstPTS
        return Span(limit: limit, end: end, note: String(format: "%@ allows at most %g s: the %.3f s range is cut to its first %.3f s",
                                                        profile.name, max, base.seconds(full), base.seconds(end)))
    }

    /// Position in presentation order of the first frame presented at or after `pts`.
    static func frameIndex(planner: CutPlanner, at pts: Int64) -> Int {
        let order = planner.order, packets = planner.packets
        var l = 0, h = order.count
        while l < h { let m = (l + h) / 2; if packets[order[m]].pts < pts { l = m + 1 } else { h = m } }
        return l
    }

    /// End of the last frame presented before `limit`: the next frame's start.
    static func frameEnd(planner: CutPlanner, plan: PlannedRange, before limit: Int64) -> Int64 {
        let order = planner.order, packets = planner.packets
        var l = 0, h = order.count
        while l < h { let m = (l + h) / 2; if packets[order[m]].pts < limit { l = m + 1 } else { h = m } }
        return l < order.count ? min(packets[order[l]].pts, plan.endPTS) : plan.endPTS
    }

    /// Chapter marks moved to the output's time and clipped to the range.
    static func chapters(_ marks: [ChapterMark], plan: PlannedRange, timeBase base: TimeBase, origin: Int64) -> [Chapter] {
        let sorted = marks.sorted { $0.start < $1.start }
        let length = plan.endPTS - plan.firstPTS
        var out: [Chapter] = []
        for (n, m) in sorted.enumerated() {
            let endSeconds = m.end ?? (n + 1 < sorted.count ? sorted[n + 1].start : .infinity)
            let start = max(0, origin + base.ticks(seconds: m.start) - plan.firstPTS)
            let end = endSeconds.isFinite ? min(length, origin + base.ticks(seconds: endSeconds) - plan.firstPTS) : length
            if end > start && start < length { out.append(Chapter(start: start, end: end, timeBase: base, title: m.title)) }
        }
        return out
    }
}
