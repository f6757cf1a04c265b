import Foundation
import RepriseCut
import RepriseHLS
import RepriseMedia
import RepriseProfiles

/// One part of a chunked ladder.
public struct LadderChunkRequest: Sendable {
    public enum Part: Sendable, Equatable {
        /// Every rung's video segments of [start, end) seconds of the output (on the segment grid).
        case video(start: Double, end: Double)
        /// The audio rendition of the whole recording.
        case audio
    }
    public var input: String
    /// The ladder folder the parts are stitched into; a part's folder is named from it.
    public var output: String
    public var ladder: Ladder
    public var part: Part
    public init(input: String, output: String, ladder: Ladder, part: Part) {
        self.input = input; self.output = output; self.ladder = ladder; self.part = part
    }
}

public struct LadderChunkResult: Encodable, Sendable {
    public struct Rung: Encodable, Sendable {
        public var name: String
        public var width: Int
        public var height: Int
        public var frames: Int
        public var segments: [String]
    }
    public var input: String
    /// The part's folder.
    public var output: String
    public var ladder: String
    public var start: Double?
    public var end: Double?
    /// What became of the source-reuse top rung: chunks encode every rung.
    public var reuse: String
    public var rungs: [Rung]
    public var audioSegments: Int?
    public var bytes: Int
    public var seconds: Double
}

/// Encodes a part of a chunked ladder: every rung's segments of one stretch of the output's
/// timeline, with the segment numbers, times (tfdt / PTS) and IDR grid the whole ladder
/// (`LadderEngine`) has there, so the stitch (`LadderStitcher`) only moves files and writes
/// playlists; or the audio rendition, whole (so joins have no audio seam). The source-reuse top
/// rung is off in chunks: a copied rung's edges depend on where the range starts, so every rung
/// is encoded (as `reuse: never` does for the whole ladder). A video chunk also encodes the
/// GOPs before it (a segment, at least 4 s) and drops those packets (pre-roll), so x264's rate
/// control reaches the chunk's IDR warm and the chunk's bitrate matches the whole ladder's there.
/// A part is built in a hidden folder beside its final one and renamed into place complete.
public final class LadderChunkEncoder {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    static let reuseNote = "off: a chunked ladder encodes every rung (the source-reuse top rung depends on the whole range)"

    /// `FOLDER.chunk-SSSSSSSSS-EEEEEEEEE` in the parts folder beside the ladder folder
    /// (`DIR/.reprise-parts/`, start and end in ms), as `ChunkEncoder.videoPartPath` names a transcode's chunks.
    public static func partFolder(output: String, start: Double, end: Double) -> String {
        ChunkEncoder.inPartsFolder(stem(output) + ChunkEncoder.rangeSuffix(start: start, end: end))
    }

    /// `FOLDER.chunk-audio` in the parts folder beside the ladder folder.
    public static func audioPartFolder(output: String) -> String { ChunkEncoder.inPartsFolder(stem(output) + ".chunk-audio") }

    /// The ladder folder's path without trailing slashes (not `ChunkEncoder.stem`: a folder's
    /// name keeps any dot in it).
    static func stem(_ output: String) -> String {
        var s = output
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return s
    }

    public func run(_ r: LadderChunkRequest) throws -> LadderChunkResult {
        try InputChecks.validate(input: r.input)
        if r.ladder.format == .ts && r.ladder.rungs.contains(where: { $0.video.codec != .h264 }) {
            throw CutError(.unsupported, path: r.output, detail: "\(r.ladder.name): HLS carries HEVC and AV1 in fMP4 only (use --format fmp4)")
        }
        switch r.part {
        case .audio: return try encodeAudio(r)
        case .video(let start, let end):
            // MPEG-TS too: each chunk's muxer restarts the continuity counters, which the stitch
            // renumbers at each join (TSContinuity).
            return try encodeVideo(r, start: start, end: end)
        }
    }

    func encodeVideo(_ r: LadderChunkRequest, start: Double, end: Double) throws -> LadderChunkResult {
        let started = Date()
        let ladder = r.ladder
        let partPath = LadderChunkEncoder.partFolder(output: r.output, start: start, end: end)
        ChunkEncoder.makePartsFolder(for: partPath)
        let final = try LadderEngine.checkOutputFolder(partPath, replacingPart: true)
        let recording = try LadderChunkManifest.Recording.of(r.input)
        let source = try SourceSession(input: r.input, range: nil, progress: progress, audio: false)
        let (plan, planner, base) = (source.plan, source.planner, source.timeBase)
        let first = plan.firstPTS
        let length = plan.endPTS - first
        let duration = base.seconds(length)
        let window: (from: Int, to: Int?)
        do {
            window = try ChunkPlan.window(start: start, end: end, gopSeconds: ladder.segmentSeconds, duration: duration, grid: "segment_seconds")
        } catch let e as ChunkPlan.Failure {
            throw CutError(.badRange, path: r.input, detail: "\(ladder.name): \(e.description)")
        }
        guard let gopsPerSegment = ChunkPlan.gops(ladder.segmentSeconds, gopSeconds: ladder.gopSeconds), gopsPerSegment >= 1 else {
            throw CutError(.unsupported, path: r.output, detail: "\(ladder.name): segment_seconds is not a whole number of gop_seconds")
        }
        let (kept, skipped) = LadderEngine.rungSizes(ladder, source: source.uprightSize)
        for s in skipped { progress?.note("\(r.input): rung \(s): skipped") }

        // Source frames to read: the chunk's, with a margin either side so a frame-rate cap's fps
        // filter sees the frames it picks from at both edges (as ChunkEncoder reads).
        let caps = kept.compactMap { $0.rung.video.maxFrameRate }.filter { $0 > 0 }
        let margin = caps.min().map { 2 / $0 } ?? 0
        let count = planner.order.count
        let chunkStart = Double(window.from) * ladder.segmentSeconds
        // At least one segment and 4 s before the chunk are encoded and dropped, so the rate control
        // is warm at the chunk's IDR (as in the whole ladder) rather than undershooting its first
        // GOPs (one 2-s GOP of pre-roll still left a 12-s chunk 5 % under the whole; two, within 1-2 %).
        guard let preroll = LadderChunkEncoder.preroll(planner: planner, first: first, base: base, gopSeconds: ladder.gopSeconds,
                                                       fromGOP: window.from * gopsPerSegment, gopsPerSegment: gopsPerSegment) else {
            throw CutError(.unsupported, path: r.input, detail: "\(ladder.name): a frame is missing at the recording's start or near the join at \(ChunkPlan.format(chunkStart)) s, so a chunk "
                           + "starting there would join a frame off; encode this ladder whole")
        }
        let readStart = chunkStart - Double(preroll) * ladder.gopSeconds
        let lo = max(0, TranscodeEngine.frameIndex(planner: planner, at: first + base.ticks(seconds: readStart - margin)) - 2)
        let hi = window.to.map { to in
            min(count, TranscodeEngine.frameIndex(planner: planner, at: first + base.ticks(seconds: Double(to) * ladder.segmentSeconds + margin)) + 2)
        } ?? count
        let read = try planner.plan(RangeRequest(from: .frame(lo), to: .frame(hi)), mode: .exact)

        let work = try LadderEngine.makeWorkFolder(beside: final, path: partPath)
        defer { LadderEngine.removeWorkFolder(work) }
        let isTS = ladder.format == .ts
        let engine = LadderEngine(progress: progress)
        var pipelines: [OutputPipeline] = []
        var upstream: OutputPipeline? = nil
        do {
            for k in kept {
                var container = try LadderEngine.hlsContainer(ladder, folder: work.appendingPathComponent(k.rung.name),
                                                              firstSegment: window.from, continuesTimeline: window.from > 0)
                container.audio = false
                container.keyframeSeconds = ladder.gopSeconds
                container.globalHeader = !isTS
                container.shiftsByDecodeDelay = isTS && window.from > 0
                var video = k.rung.video
                video.width = k.width; video.height = k.height; video.fit = .pad; video.upscale = false
                let profile = Profile(name: k.rung.name, description: "", video: video, audio: ladder.audio, source: ladder.source)
                let p = try engine.makePipeline(profile, path: work.appendingPathComponent("\(k.rung.name)/index.m3u8").path, ladderPath: partPath,
                                                container: container, source: source, length: length,
                                                cascadeInput: upstream?.videoOutput, readEnd: read.endPTS - first)
                p.chunk = (Int64(window.from * gopsPerSegment), window.to.map { Int64($0 * gopsPerSegment) })
                p.prerollGOPs = Int64(preroll)
                upstream?.cascadeNext = p
                upstream = p
                pipelines.append(p)
            }
        } catch {
            pipelines.forEach { $0.discard() }
            throw error
        }
        _ = try source.run(pipelines, progress: progress, stage: "encoding ladder chunk", range: read, origin: first)

        // Every rung holds the segments the whole ladder has in the range, no more, no fewer.
        let chunkEnd = window.to.map { Double($0) * ladder.segmentSeconds } ?? duration
        let expected = Int(((chunkEnd - chunkStart) / ladder.segmentSeconds - 1e-6).rounded(.up))
        var rungs: [LadderChunkManifest.Rung] = []
        var results: [LadderChunkResult.Rung] = []
        for (k, p) in zip(kept, pipelines) {
            let media = try LadderEngine.readPlaylist(work.appendingPathComponent("\(k.rung.name)/index.m3u8"), path: partPath)
            let names = media.segments.map(\.uri)
            let wanted = (window.from..<(window.from + expected)).map { LadderChunkEncoder.segmentName($0, isTS: isTS) }
            guard names == wanted else {
                throw CutError(.failed, path: partPath, detail: "\(k.rung.name): the muxer cut \(names.first ?? "-")…\(names.last ?? "-") (\(names.count)), "
                               + "not the whole ladder's \(wanted.first ?? "-")…\(wanted.last ?? "-") (\(expected)): the frames don't fall on the segment grid")
            }
            guard let codec = CodecString.video(isHEVC: k.rung.video.codec == .hevc, extradata: p.videoExtradata, firstPacket: p.firstVideoPacket) else {
                throw CutError(.failed, path: partPath, detail: "\(k.rung.name): no parameter sets to name the codec")
            }
            rungs.append(.init(name: k.rung.name, width: k.width, height: k.height, frameRate: p.outputFrameRate.doubleValue,
                               videoCodec: codec, frames: p.framesOut))
            results.append(.init(name: k.rung.name, width: k.width, height: k.height, frames: p.framesOut, segments: names))
        }
        let manifest = LadderChunkManifest(ladder: ladder.name, format: ladder.format.rawValue, segmentSeconds: ladder.segmentSeconds,
                                           gopSeconds: ladder.gopSeconds, duration: duration, start: chunkStart, end: chunkEnd,
                                           firstSegment: window.from, rungs: rungs, audio: nil, recording: recording,
                                           ladderFingerprint: LadderFingerprint.of(ladder),
                                           hasAudio: LadderChunkEncoder.hasAudio(source.demuxer))
        try manifest.write(into: work)
        let bytes = LadderEngine.folderBytes(work)
        try LadderEngine.publish(work, as: final, path: partPath)
        progress?.update(stage: "done", fraction: 1)
        return LadderChunkResult(input: r.input, output: final.path, ladder: ladder.name, start: chunkStart, end: chunkEnd,
                                 reuse: LadderChunkEncoder.reuseNote, rungs: results, audioSegments: nil, bytes: bytes,
                                 seconds: Date().timeIntervalSince(started))
    }

    func encodeAudio(_ r: LadderChunkRequest) throws -> LadderChunkResult {
        let started = Date()
        let ladder = r.ladder
        let partPath = LadderChunkEncoder.audioPartFolder(output: r.output)
        ChunkEncoder.makePartsFolder(for: partPath)
        let final = try LadderEngine.checkOutputFolder(partPath, replacingPart: true)
        let recording = try LadderChunkManifest.Recording.of(r.input)
        let source = try SourceSession(input: r.input, range: nil, progress: progress)
        guard source.audioInput != nil else {
            throw CutError(.unsupported, path: r.input, detail: "has no audio: a chunked ladder of it has no audio part")
        }
        let length = source.plan.endPTS - source.plan.firstPTS
        let work = try LadderEngine.makeWorkFolder(beside: final, path: partPath)
        defer { LadderEngine.removeWorkFolder(work) }
        // The same rendition the whole ladder makes beside its rungs (same settings, same span).
        var container = try LadderEngine.hlsContainer(ladder, folder: work.appendingPathComponent("audio"))
        container.video = false
        let profile = Profile(name: "audio", description: "", video: Profile.Video(width: 2, height: 2), audio: ladder.audio, source: ladder.source)
        let p = try LadderEngine(progress: progress).makePipeline(profile, path: work.appendingPathComponent("audio/index.m3u8").path,
                                                                  ladderPath: partPath, container: container, source: source, length: length)
        _ = try source.run([p], progress: progress, stage: "encoding ladder audio", decodesVideo: false)
        guard let codec = p.audioCodecString else {
            throw CutError(.unsupported, path: partPath, detail: "audio: HLS has no codec string for \(p.audioChoice?.encoder ?? "its encoder")")
        }
        let measured = try LadderEngine.measureAudio(work.appendingPathComponent("audio"), path: partPath)
        let manifest = LadderChunkManifest(ladder: ladder.name, format: ladder.format.rawValue, segmentSeconds: ladder.segmentSeconds,
                                           gopSeconds: ladder.gopSeconds, duration: source.timeBase.seconds(length), start: nil, end: nil,
                                           firstSegment: nil, rungs: [], audio: .init(codec: codec, channels: ladder.audio.channels),
                                           recording: recording, ladderFingerprint: LadderFingerprint.of(ladder), hasAudio: true)
        try manifest.write(into: work)
        let bytes = LadderEngine.folderBytes(work)
        try LadderEngine.publish(work, as: final, path: partPath)
        progress?.update(stage: "done", fraction: 1)
        return LadderChunkResult(input: r.input, output: final.path, ladder: ladder.name, start: nil, end: nil,
                                 reuse: LadderChunkEncoder.reuseNote, rungs: [], audioSegments: measured.segments, bytes: bytes,
                                 seconds: Date().timeIntervalSince(started))
    }

    /// Whether the whole ladder of the recording behind `demuxer` has an audio rendition: as
    /// `SourceReader` decides it (the best audio stream, when its decoder opens), for a video
    /// chunk that reads no audio.
    static func hasAudio(_ demuxer: Demuxer) -> Bool {
        guard let a = demuxer.bestAudioStream else { return false }
        let s = demuxer.stream(a)
        return (try? Decoder(parameters: s.pointee.codecpar, timeBase: TimeBase(s.pointee.time_base), threads: 1)) != nil
    }

    /// The HLS muxer's segment file name for segment `n` (`seg_%05d`).
    static func segmentName(_ n: Int, isTS: Bool) -> String { String(format: "seg_%05d.%@", n, isTS ? "ts" : "m4s") }

    /// Pre-roll at least this long (and at least a segment): one 2-s GOP of pre-roll still left a
    /// 12-s chunk 5 % under the whole ladder's bitrate; two, within 1-2 %.
    static let prerollSeconds = 4.0
    /// How many GOPs past the shortest pre-roll are tried for a start spaced like the output's.
    static let prerollSearchGOPs = 8

    /// GOPs before a chunk starting at GOP `fromGOP` that its encoder is fed and whose packets are
    /// dropped (pre-roll): at least `prerollSeconds` and a segment, so the rate control is warm at
    /// the chunk's IDR. x264 and x265 take their decode delay from the first frames they are given
    /// and the muxer its edit list from the first packet kept; where a frame is missing there (a
    /// dropped frame at the recording's start, just before the join, or where the pre-roll
    /// starts, as live recordings have), a chunk's decode times differ from the whole ladder's by a
    /// frame at the join. So a chunk is made only where the frames are evenly spaced at the
    /// output's start, around the join and where its pre-roll starts (a later start is tried when
    /// not); nil otherwise, and the ladder is encoded whole.
    static func preroll(planner: CutPlanner, first: Int64, base: TimeBase, gopSeconds: Double, fromGOP: Int, gopsPerSegment: Int) -> Int? {
        if fromGOP == 0 { return 0 }  // the first chunk is the whole ladder's start
        func index(_ gop: Int) -> Int { TranscodeEngine.frameIndex(planner: planner, at: first + base.ticks(seconds: Double(gop) * gopSeconds)) }
        let startSpacing = spacing(planner: planner, at: index(0))
        guard let step = startSpacing.first, startSpacing.count == 3, startSpacing.allSatisfy({ $0 == step }) else { return nil }
        let join = index(fromGOP)
        guard join >= 3, spacing(planner: planner, at: join - 3) + spacing(planner: planner, at: join) == Array(repeating: step, count: 6) else { return nil }
        let shortest = min(fromGOP, max(gopsPerSegment, Int((prerollSeconds / gopSeconds).rounded(.up))))
        for p in shortest...min(fromGOP, shortest + prerollSearchGOPs) {
            if p == fromGOP { return p }  // fed from the output's start: the same frames
            if spacing(planner: planner, at: index(fromGOP - p)) == startSpacing { return p }
        }
        return nil
    }

    /// The gaps between the presentation times of frames `i`…`i + 3` (the encoders' reorder delay is
    /// at most 2 frames with B-pyramids, so these decide it); fewer at the end of the recording.
    static func spacing(planner: CutPlanner, at i: Int) -> [Int64] {
        let order = planner.order, packets = planner.packets
        guard i < order.count else { return [] }
        return (i..<min(order.count - 1, i + 3)).map { packets[order[$0 + 1]].pts - packets[order[$0]].pts }
    }
}

/// A chunked ladder laid out: its chunks on the segment grid and the part folders they write.
/// Decodes as the daemon's `ChunkGraph.Layout`.
public struct LadderChunkLayout: Encodable, Sendable {
    public struct Part: Encodable, Sendable {
        public var index: Int
        public var start: Double
        public var end: Double
        public var part: String
    }
    public var input: String
    public var ladder: String
    public var output: String
    /// Seconds of the output (the recording's frames with timestamp gaps closed).
    public var duration: Double
    public var segmentSeconds: Double
    public var chunkSeconds: Double
    public var reuse: String
    /// Why the ladder is not split (one chunk, the whole output), when it is not.
    public var whole: String?
    public var chunks: [Part]
    public var audioPart: String?
}

extension LadderChunkEncoder {
    /// The chunks of `ladder`'s output of `input`, every `chunkSeconds` (a multiple of its
    /// segment_seconds) on the segment grid.
    public func layout(input: String, output: String, ladder: Ladder, chunkSeconds: Double) throws -> LadderChunkLayout {
        try InputChecks.validate(input: input)
        let source = try SourceSession(input: input, range: nil, progress: progress)
        let duration = source.timeBase.seconds(source.plan.endPTS - source.plan.firstPTS)
        let chunks: [ChunkPlan.Chunk]
        do {
            chunks = try ChunkPlan.chunks(duration: duration, gopSeconds: ladder.segmentSeconds, chunkSeconds: chunkSeconds, grid: "segment_seconds")
        } catch let e as ChunkPlan.Failure {
            throw CutError(.badRange, path: input, detail: "\(ladder.name): \(e.description)")
        }
        var planned = chunks
        var whole: String? = nil
        if let gopsPerSegment = ChunkPlan.gops(ladder.segmentSeconds, gopSeconds: ladder.gopSeconds), gopsPerSegment >= 1,
                  let bad = chunks.dropFirst().first(where: { c in
                      LadderChunkEncoder.preroll(planner: source.planner, first: source.plan.firstPTS, base: source.timeBase,
                                                 gopSeconds: ladder.gopSeconds, fromGOP: Int((c.start / ladder.gopSeconds).rounded()),
                                                 gopsPerSegment: gopsPerSegment) == nil }) {
            whole = String(format: "a frame is missing at the recording's start or near the join at %g s (a chunk there would join a frame off)", bad.start)
        }
        if let whole {
            progress?.note("\(input): \(ladder.name): encoded whole: \(whole)")
            planned = [ChunkPlan.Chunk(index: 0, start: 0, end: duration)]
        }
        return LadderChunkLayout(input: input, ladder: ladder.name, output: output, duration: duration, segmentSeconds: ladder.segmentSeconds,
                                 chunkSeconds: chunkSeconds, reuse: LadderChunkEncoder.reuseNote, whole: whole,
                                 chunks: planned.map { .init(index: $0.index, start: $0.start, end: $0.end,
                                                            part: LadderChunkEncoder.partFolder(output: output, start: $0.start, end: $0.end)) },
                                 audioPart: source.audioInput == nil ? nil : LadderChunkEncoder.audioPartFolder(output: output))
    }
}
