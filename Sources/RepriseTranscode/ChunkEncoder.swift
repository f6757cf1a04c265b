import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles

/// One piece of a chunked encode of one profile's output.
public struct ChunkRequest: Sendable {
    public enum Part: Sendable, Equatable {
        /// The output's video frames presented in [start, end) seconds of the output.
        case video(start: Double, end: Double)
        /// The whole output's audio.
        case audio
    }
    public var input: String
    public var profile: Profile
    /// The output the parts are stitched into; the part's own name is made from it.
    public var output: String
    public var part: Part
    public init(input: String, profile: Profile, output: String, part: Part) {
        self.input = input; self.profile = profile; self.output = output; self.part = part
    }
}

/// Encodes the parts of a chunked output: a video chunk holds exactly the frames the whole
/// encode (`transcode --keyframe-grid`) has in that range, with the same times, starting with
/// the IDR that encode has there (the grid is forced; GOPs are closed), so the stitch copies
/// packets. Frame-rate conversion picks the same frames because the chunk's filter chain is fed
/// from before the chunk's start and past its end, and only the frames in range are encoded.
/// Rate control is the profile's (max_bitrate/buffer as VBV), as for the whole encode.
public final class ChunkEncoder {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    /// The hidden folder beside a chunked output that holds its parts until the stitch has
    /// joined them (`DIR/.reprise-parts/` for `DIR/OUT`), so no part shows among the outputs.
    /// The daemon names the same folder (`ChunkGraph.partsFolderName`).
    public static let partsFolderName = ".reprise-parts"

    /// `DIR/.reprise-parts` for `output` = `DIR/NAME`.
    public static func partsFolder(of output: String) -> String {
        ((output as NSString).deletingLastPathComponent as NSString).appendingPathComponent(partsFolderName)
    }

    /// `DIR/.reprise-parts/NAME` for `path` = `DIR/NAME`: where a part named from `path` lives.
    static func inPartsFolder(_ path: String) -> String {
        (partsFolder(of: path) as NSString).appendingPathComponent((path as NSString).lastPathComponent)
    }

    /// Makes the parts folder a part at `part` goes into (its parent: the output's folder, which
    /// must exist, so a missing output folder is still reported as such).
    static func makePartsFolder(for part: String) {
        // Not with intermediates: without the output folder this fails, and the part's own
        // output check then names the missing folder.
        try? FileManager.default.createDirectory(atPath: (part as NSString).deletingLastPathComponent, withIntermediateDirectories: false)
    }

    /// `OUT.chunk-SSSSSSSSS-EEEEEEEEE.mp4` in the parts folder beside `output` (start and end in
    /// milliseconds): names that sort in time order and that a stitch job can make from the chunk plan alone.
    public static func videoPartPath(output: String, start: Double, end: Double) -> String {
        inPartsFolder(stem(output) + rangeSuffix(start: start, end: end) + ".mp4")
    }

    /// `.chunk-SSSSSSSSS-EEEEEEEEE`: the range in a video part's name (start and end in whole
    /// milliseconds, zero-padded so names sort in time order), for transcode and ladder parts alike.
    static func rangeSuffix(start: Double, end: Double) -> String {
        func ms(_ s: Double) -> String { String(format: "%09lld", Int64((s * 1000).rounded())) }
        return ".chunk-\(ms(start))-\(ms(end))"
    }

    /// `OUT.chunk-audio.mp4` in the parts folder beside `output`.
    public static func audioPartPath(output: String) -> String { inPartsFolder(stem(output) + ".chunk-audio.mp4") }

    static func stem(_ path: String) -> String { (path as NSString).deletingPathExtension }

    public func run(_ r: ChunkRequest) throws -> TranscodeResult {
        switch r.part {
        case .audio: return try encodeAudio(r)
        case .video(let start, let end): return try encodeVideo(r, start: start, end: end)
        }
    }

    func checkProfile(_ r: ChunkRequest) throws {
        guard r.profile.container == .mp4 else {
            throw CutError(.unsupported, path: r.output, detail: "\(r.profile.name): a chunked encode writes MP4, not \(r.profile.container.rawValue)")
        }
        guard r.profile.video.fit != .follow else {
            // The tracker's window at any frame depends on every frame before it.
            throw CutError(.unsupported, path: r.output, detail: "\(r.profile.name): fit: follow can't be chunked (the tracked window depends on all earlier frames)")
        }
    }

    func encodeAudio(_ r: ChunkRequest) throws -> TranscodeResult {
        try checkProfile(r)
        let part = ChunkEncoder.audioPartPath(output: r.output)
        ChunkEncoder.makePartsFolder(for: part)
        var request = TranscodeRequest(input: r.input, outputs: [.init(profile: r.profile, path: part)])
        request.audioOnly = true
        try InputChecks.validate(input: r.input)
        let demuxer: Demuxer
        do { demuxer = try Demuxer(path: r.input) } catch let e as MediaError {
            throw CutError(.notMedia, path: r.input, detail: "not a readable media file (\(e.message))")
        }
        guard demuxer.bestAudioStream != nil else {
            throw CutError(.unsupported, path: r.input, detail: "has no audio: a chunked encode of it has no audio part")
        }
        return try TranscodeEngine(progress: progress).run(request)
    }

    func encodeVideo(_ r: ChunkRequest, start: Double, end: Double) throws -> TranscodeResult {
        let started = Date()
        try checkProfile(r)
        try InputChecks.validate(input: r.input)
        let part = ChunkEncoder.videoPartPath(output: r.output, start: start, end: end)
        ChunkEncoder.makePartsFolder(for: part)
        try InputChecks.validate(output: part, input: r.input)

        let source = try SourceSession(input: r.input, range: nil, progress: progress, audio: false)
        let (plan, planner, base) = (source.plan, source.planner, source.timeBase)
        let span = TranscodeEngine.span(profile: r.profile, planner: planner, plan: plan)
        let duration = base.seconds(span.end)
        let gop = r.profile.video.gopSeconds
        let window: (from: Int, to: Int?)
        do { window = try ChunkPlan.window(start: start, end: end, gopSeconds: gop, duration: duration) } catch let e as ChunkPlan.Failure {
            throw CutError(.badRange, path: r.input, detail: e.description)
        }

        // Source frames to read: the chunk's, with a margin either side so a frame-rate cap's
        // fps filter sees the frames it picks from at both edges (without a cap, the filters
        // work frame by frame and two frames are margin enough for time-base rounding).
        let cap = RenderPlanner.plan(video: r.profile.video, source: (source.videoInput.width, source.videoInput.height),
                                     rotation: source.info.rotation, frameRate: source.frameRate.doubleValue).frameRateCap
        let margin = cap.map { 2 / $0 } ?? 0
        let first = plan.firstPTS
        let order = planner.order.count
        let lastIn = min(order, TranscodeEngine.frameIndex(planner: planner, at: first + span.limit) + 2)
        let lo = max(0, TranscodeEngine.frameIndex(planner: planner, at: first + base.ticks(seconds: Double(window.from) * gop - margin)) - 2)
        let hi = window.to.map { to in
            min(lastIn, TranscodeEngine.frameIndex(planner: planner, at: first + base.ticks(seconds: Double(to) * gop + margin)) + 2)
        } ?? lastIn
        let read = try planner.plan(RangeRequest(from: .frame(lo), to: .frame(hi)), mode: .exact)

        var container = OutputPipeline.Container(format: "mp4")
        container.audio = false
        container.keyframeSeconds = gop
        container.editsInTrackTimescale = true
        let setup = OutputPipeline.Setup(container: container, videoInput: source.videoInput, audioInput: nil,
                                         sourceRotation: source.info.rotation, sourceFrameRate: source.frameRate,
                                         videoLimit: span.limit, videoEnd: min(span.end, read.endPTS - first),
                                         measured: nil, chapters: [])
        let pipeline: OutputPipeline
        do { pipeline = try OutputPipeline(profile: r.profile, path: part, setup: setup) } catch let e as MediaError {
            throw CutError(.failed, path: part, detail: "\(r.profile.name): \(e.description)")
        } catch let e as TranscodeError {
            throw CutError(.unsupported, path: part, detail: "\(r.profile.name): \(e.description)")
        }
        pipeline.chunk = (Int64(window.from), window.to.map(Int64.init))
        for n in pipeline.notes { progress?.note("\(part): \(n)") }
        let kept = try source.run([pipeline], progress: progress, stage: "encoding chunk", range: read, origin: first)
        guard pipeline.framesOut > 0 else {
            try? FileManager.default.removeItem(atPath: part)
            throw CutError(.badRange, path: r.input, detail: "no frame of the output lies in the chunk [\(start), \(end)) s")
        }
        progress?.update(stage: "done", fraction: 1)

        let chunkStart = Double(window.from) * gop
        let chunkEnd = window.to.map { Double($0) * gop } ?? duration
        var report = OutputReport(pipeline: pipeline, measuredInput: nil,
                                  video: VideoPath(path: .reencoded, reason: String(format: "chunk [%g, %g) s of the output", chunkStart, chunkEnd)))
        report.duration = chunkEnd - chunkStart
        report.bitrate = Double(report.size) * 8 / report.duration
        let offset = base.seconds(first - planner.origin)
        return TranscodeResult(input: r.input, from: offset + chunkStart, to: offset + chunkEnd, frames: kept,
                               outputs: [report], seconds: Date().timeIntervalSince(started))
    }
}

/// A chunked encode of one output laid out: its chunks and the part files they write.
public struct ChunkLayout: Encodable, Sendable {
    public struct Part: Encodable, Sendable {
        public var index: Int
        public var start: Double
        public var end: Double
        public var part: String
    }
    public var input: String
    public var profile: String
    public var output: String
    /// Seconds of the output (its timeline: the recording's frames with timestamp gaps closed).
    public var duration: Double
    public var gopSeconds: Double
    public var chunkSeconds: Double
    public var chunks: [Part]
    public var audioPart: String?
}

extension ChunkEncoder {
    /// The chunks of `profile`'s output of `input`, every `chunkSeconds` on its keyframe grid.
    public func layout(input: String, profile: Profile, output: String, chunkSeconds: Double) throws -> ChunkLayout {
        try checkProfile(ChunkRequest(input: input, profile: profile, output: output, part: .audio))
        try InputChecks.validate(input: input)
        let source = try SourceSession(input: input, range: nil, progress: progress)
        let span = TranscodeEngine.span(profile: profile, planner: source.planner, plan: source.plan)
        let duration = source.timeBase.seconds(span.end)
        let gop = profile.video.gopSeconds
        let chunks: [ChunkPlan.Chunk]
        do { chunks = try ChunkPlan.chunks(duration: duration, gopSeconds: gop, chunkSeconds: chunkSeconds) } catch let e as ChunkPlan.Failure {
            throw CutError(.badRange, path: input, detail: "\(profile.name): \(e.description)")
        }
        return ChunkLayout(input: input, profile: profile.name, output: output, duration: duration, gopSeconds: gop,
                           chunkSeconds: chunkSeconds,
                           chunks: chunks.map { .init(index: $0.index, start: $0.start, end: $0.end,
                                                      part: ChunkEncoder.videoPartPath(output: output, start: $0.start, end: $0.end)) },
                           audioPart: source.audioInput == nil ? nil : ChunkEncoder.audioPartPath(output: output))
    }
}
