import CFFmpeg
import Foundation
import RepriseHLS
import RepriseMedia
import RepriseProfiles

/// Everything one output needs after the shared decode: its own video graph and encoder, audio
/// graph and encoder, and muxer. Frames arrive timed from the range start (source time bases);
/// packets leave in the muxer's time bases. Used from one serial queue at a time.
final class OutputPipeline: @unchecked Sendable {
    let profile: Profile
    let path: String
    let render: VideoRender
    let videoChoice: EncoderChoice?
    let audioChoice: EncoderChoice?
    let audioRender: AudioRender?
    /// Source frames presented at or after this (relative, source video time base) are left out.
    let videoLimit: Int64
    /// Where the kept video ends (relative, source video time base): the last frame's end.
    let videoEnd: Int64
    let sourceTimeBase: TimeBase
    let outputFrameRate: AVRational
    var notes: [String]

    private let videoGraph: FilterGraph?
    private let videoEncoder: Encoder?
    private let follow: FollowTracker?
    private let audioGraph: FilterGraph?
    private let audioEncoder: Encoder?
    let muxer: Muxer
    private var videoStream: Int?
    private var audioStream: Int?
    /// Force an IDR at every multiple of this many encoder ticks (ladders: the same grid in every rung).
    private var keyframeTicks: Int64?
    private var nextKeyframe: Int64 = 0
    /// A chunk of the output, in GOPs of the keyframe grid: only frames from grid point `from` up
    /// to grid point `to` (nil: the end) are encoded; the others are filtered (so frame-rate
    /// conversion picks the same frames as for the whole output) and dropped.
    var chunk: (from: Int64, to: Int64?)? = nil {
        didSet { nextKeyframe = (chunk?.from ?? 0) * (keyframeTicks ?? 0) }
    }
    /// GOPs before the chunk's start that are encoded and their packets dropped: the rate
    /// control then enters the chunk warmed up, as the whole encode does (a cold start
    /// undershoots the first GOPs). 0: none (transcode chunks).
    var prerollGOPs: Int64 = 0
    /// The chunk ended at a later frame, which gave the last kept frame its duration.
    private var chunkClosed = false
    /// `Container.shiftsByDecodeDelay`: the shift, once the first packet has set it.
    private let shiftsByDecodeDelay: Bool
    private var decodeDelayShift: Int64?
    /// The first video packet's bytes (its parameter sets name the codec when there is no extradata).
    private(set) var firstVideoPacket: [UInt8] = []

    /// A scaler cascade: the output made from this one's filtered frames (each rung scaled
    /// from the next larger one, not from the source). Set before the first frame arrives.
    var cascadeNext: OutputPipeline? = nil {
        didSet { cascadeNext?.videoFromSource = false }
    }
    /// False for a cascade's lower rung: its frames come through `forward` of the one above.
    private(set) var videoFromSource = true
    /// Receives every filtered video frame before it is encoded (set by the session that runs
    /// the cascade: it hands the frame to `cascadeNext`'s queue).
    var forward: ((Frame) throws -> Void)? = nil

    private let filtered = Frame()
    private let audioFiltered = Frame()
    private let packet = Packet()
    /// Video frames held by the encoder: pts → duration (encoder time base), so packets carry
    /// exact durations (x264 does not set them) and the file's duration is exact to the frame.
    private var durations: [Int64: Int64] = [:]
    private var previousPTS: Int64?
    private var audioSamples: Int64 = 0
    private(set) var framesOut = 0
    private(set) var meter = LoudnessReading()
    /// The first failure; later work on this output is skipped. Set on the output's queue and
    /// read by the reading thread while that queue runs, so it sits behind a lock (NSLock, which
    /// ThreadSanitizer understands; it does not see Synchronization.Mutex's futex on Linux).
    private let failureLock = NSLock()
    private var firstFailure: (any Error)?
    var failure: (any Error)? { failureLock.withLock { firstFailure } }
    private func fail(_ error: any Error) { failureLock.withLock { if firstFailure == nil { firstFailure = error } } }

    /// The file to write: libavformat muxer, its options, and what goes in it.
    struct Container {
        var format: String
        var options: [String: String] = [:]
        var video = true
        var audio = true
        /// Overrides the muxer's own need for global headers (HLS TS wants parameter sets in-band).
        var globalHeader: Bool? = nil
        /// IDR every this many seconds, forced (nil: the encoder's GOP setting alone).
        var keyframeSeconds: Double? = nil
        /// MP4 edit lists in the video track's timescale, not milliseconds: a chunk's part,
        /// which starts late, then reads back with its exact start and duration.
        var editsInTrackTimescale = false
        /// Video timestamps moved later by the first packet's decode delay (pts − dts), as the muxer
        /// moves a whole output's whose first dts is negative: a later chunk of an MPEG-TS ladder
        /// rung then has the times the whole rung has there.
        var shiftsByDecodeDelay = false

        init(format: String, options: [String: String] = [:]) { self.format = format; self.options = options }

        static func file(_ c: Profile.Container) -> Container {
            switch c {
            case .mp4: return Container(format: "mp4", options: ["movflags": "+faststart"])
            case .mkv: return Container(format: "matroska")
            case .ts: return Container(format: "mpegts")
            }
        }
    }

    struct Setup {
        var container: Container
        var videoInput: FilterGraph.VideoInput
        var audioInput: FilterGraph.AudioInput?
        var sourceRotation: Double
        var sourceFrameRate: AVRational
        var videoLimit: Int64
        var videoEnd: Int64
        var measured: Loudness?
        var chapters: [Chapter]
    }

    init(profile: Profile, path: String, setup s: Setup) throws {
        self.profile = profile
        self.path = path
        self.sourceTimeBase = s.videoInput.timeBase
        videoLimit = s.videoLimit
        videoEnd = s.videoEnd
        shiftsByDecodeDelay = s.container.shiftsByDecodeDelay
        let rate = s.sourceFrameRate.doubleValue
        render = RenderPlanner.plan(video: profile.video, source: (s.videoInput.width, s.videoInput.height),
                                    rotation: s.sourceRotation, frameRate: rate, colour: s.videoInput.colour,
                                    pixelFormat: s.videoInput.pixelFormat)
        notes = s.container.video ? render.notes : []
        let format = s.container.format
        muxer = try Muxer(path: path, formatName: format)
        let globalHeader = s.container.globalHeader ?? muxer.needsGlobalHeader
        if s.container.video {
            let graph = try FilterGraph(video: s.videoInput, description: render.filter)
            let graphRate = graph.outputFrameRate
            outputFrameRate = render.frameRateCap.map { av_d2q($0, 1001000) }
                ?? (graphRate.num > 0 ? graphRate : (s.sourceFrameRate.num > 0 ? s.sourceFrameRate : AVRational(num: 30, den: 1)))
            if let window = render.follow {
                follow = try FollowTracker(window: window, input: s.videoInput,
                                           upright: RenderPlanner.uprightFilters(rotation: s.sourceRotation).filters,
                                           frameRate: outputFrameRate.doubleValue)
            } else {
                follow = nil
            }
            let choice = try EncoderChoice.video(profile.video, frameRate: outputFrameRate.doubleValue,
                                                 fixedGOP: s.container.keyframeSeconds != nil)
            var vs = VideoEncoderSettings(codecName: choice.encoder, width: graph.outputWidth, height: graph.outputHeight,
                                          pixelFormat: av_get_pix_fmt(render.pixelFormat).rawValue, timeBase: graph.outputTimeBase,
                                          frameRate: outputFrameRate, sampleAspectRatio: AVRational(num: 1, den: 1))
            vs.options = choice.options
            vs.globalHeader = globalHeader
            // The colour the chain made, written into the bitstream (VUI) and the container.
            if let c = render.colour?.output {
                vs.colorPrimaries = c.primaries; vs.colorTransfer = c.transfer; vs.colorSpace = c.matrix; vs.colorRange = c.range
            }
            let encoder = try Encoder(video: vs)
            if let seconds = s.container.keyframeSeconds {
                keyframeTicks = max(1, TimeBase(1, 1_000_000).rescale(Int64(seconds * 1_000_000), to: encoder.timeBase))
            }
            videoGraph = graph; videoEncoder = encoder; videoChoice = choice
        } else {
            outputFrameRate = s.sourceFrameRate
            follow = nil; videoGraph = nil; videoEncoder = nil; videoChoice = nil
        }

        if let input = s.audioInput, s.container.audio {
            let choice = try EncoderChoice.audio(profile.audio)
            notes += choice.notes
            var settings = AudioEncoderSettings(sampleRate: profile.audio.sampleRate, channels: profile.audio.channels,
                                                bitRate: Int64(profile.audio.bitrate))
            settings.codecName = choice.encoder
            settings.globalHeader = globalHeader
            settings.options = choice.options.filter { $0.key != "b" }
            let encoder = try Encoder(audio: settings)
            let formatName = av_get_sample_fmt_name(encoder.context.pointee.sample_fmt).map { String(cString: $0) } ?? "fltp"
            let seconds = s.videoInput.timeBase.seconds(s.videoEnd)
            let plan = AudioRender.plan(audio: profile.audio, duration: seconds, measured: s.measured, sampleFormat: formatName)
            notes += plan.notes
            let graph = try FilterGraph(audio: input, description: plan.filter)
            if encoder.frameSize > 0 { graph.setOutputFrameSize(encoder.frameSize) }
            audioChoice = choice; audioRender = plan; audioGraph = graph; audioEncoder = encoder
        } else {
            audioChoice = nil; audioRender = nil; audioGraph = nil; audioEncoder = nil
            if s.container.audio { notes.append("the source has no audio: the output has none") }
        }

        if let videoEncoder {
            let vst = try muxer.addStream()
            try videoEncoder.copyParameters(to: vst)
            vst.pointee.time_base = videoEncoder.timeBase.rational
            vst.pointee.avg_frame_rate = outputFrameRate
            // Apple players take HEVC in MP4 only as 'hvc1' (parameter sets in the sample entry).
            if profile.video.codec == .hevc && (format == "mp4" || format == "hls") {
                vst.pointee.codecpar.pointee.codec_tag = UInt32(UInt8(ascii: "h")) | UInt32(UInt8(ascii: "v")) << 8
                    | UInt32(UInt8(ascii: "c")) << 16 | UInt32(UInt8(ascii: "1")) << 24
            }
            videoStream = Int(vst.pointee.index)
        }
        if let audioEncoder {
            let ast = try muxer.addStream()
            try audioEncoder.copyParameters(to: ast)
            ast.pointee.time_base = audioEncoder.timeBase.rational
            audioStream = Int(ast.pointee.index)
        }
        if profile.chapters {
            for (n, c) in s.chapters.enumerated() {
                try muxer.addChapter(id: n + 1, start: c.start, end: c.end, timeBase: c.timeBase, title: c.title)
            }
        }
        var options = s.container.options
        if s.container.editsInTrackTimescale, let videoEncoder {
            // What movenc makes the track's timescale: the time base's denominator, doubled up to 10000.
            var scale = Int64(videoEncoder.timeBase.den)
            while scale < 10000 { scale *= 2 }
            options["movie_timescale"] = String(scale)
        }
        try muxer.writeHeader(options: options)
    }

    /// A source video frame, timed from the range start.
    func video(_ frame: Frame) {
        guard failure == nil, let videoGraph, frame.pts < videoLimit else { return }
        do {
            try follow?.observe(frame, output: videoGraph)
            try videoGraph.send(frame)
            try drainVideoGraph()
        } catch { fail(error) }
    }

    /// A source audio frame, timed from the range start (audio time base).
    func audio(_ frame: Frame) {
        guard failure == nil, let audioGraph else { return }
        do {
            try audioGraph.send(frame)
            try drainAudioGraph()
        } catch { fail(error) }
    }

    /// Ends both streams, drains filters and encoders, and publishes the file.
    func finish() throws {
        if let failure { throw failure }
        if let videoGraph {
            try videoGraph.close(at: videoEnd)
            try drainVideoGraph()
            try encodeVideo(nil)
        }
        if let audioGraph {
            try audioGraph.send(nil)
            try drainAudioGraph()
            try encodeAudio(nil)
        }
        try muxer.complete()
    }

    /// Renames the completed file into place (after every output completed).
    func publish() throws { try muxer.publish() }

    func discard() { muxer.discard() }

    /// The audio's RFC 6381 codec string, from the opened encoder itself (codec and AAC profile).
    var audioCodecString: String? {
        guard let ctx = audioEncoder?.context else { return nil }
        return CodecString.audio(codec: String(cString: avcodec_get_name(ctx.pointee.codec_id)), aacProfile: ctx.pointee.profile)
    }

    /// What comes out of the video graph, as the input of a graph fed from it (a cascade's next rung).
    var videoOutput: FilterGraph.VideoInput? {
        guard let videoGraph else { return nil }
        var v = FilterGraph.VideoInput(width: videoGraph.outputWidth, height: videoGraph.outputHeight,
                                       pixelFormat: av_get_pix_fmt(render.pixelFormat).rawValue, timeBase: videoGraph.outputTimeBase)
        v.frameRate = outputFrameRate
        v.colour = render.colour?.output
        return v
    }

    /// The video encoder's global header (avcC/hvcC parameter sets), empty when they go in-band.
    var videoExtradata: [UInt8] { videoEncoder?.extradata ?? [] }

    private func drainVideoGraph() throws {
        guard let videoGraph else { return }
        while try videoGraph.receive(into: filtered) == .ok {
            try forward?(filtered)
            try encodeVideo(filtered)
        }
    }

    private func encodeVideo(_ frame: Frame?) throws {
        guard let videoEncoder, let videoStream else { return }
        if let frame {
            let pts = frame.pts
            var preroll = false
            if let chunk, let ticks = keyframeTicks {
                if pts < max(0, chunk.from - prerollGOPs) * ticks || chunkClosed { return }
                preroll = pts < chunk.from * ticks
                if let to = chunk.to, pts >= to * ticks {
                    if let previous = previousPTS { durations[previous] = pts - previous }
                    chunkClosed = true
                    return
                }
            }
            if let previous = previousPTS { durations[previous] = pts - previous }
            previousPTS = pts
            // The source's picture types are not ours: the encoder places keyframes by the GOP,
            // or at the forced grid (the first frame at or after each multiple).
            frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
            if let keyframeTicks, pts >= nextKeyframe {
                frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_I
                while nextKeyframe <= pts { nextKeyframe += keyframeTicks }
            }
            if !preroll { framesOut += 1 }
        } else if let last = previousPTS, !chunkClosed {
            let end = sourceTimeBase.rescale(videoEnd, to: videoEncoder.timeBase)
            let nominal = max(1, av_rescale_q(1, av_inv_q(outputFrameRate), videoEncoder.timeBase.rational))
            durations[last] = render.frameRateCap == nil && end > last ? end - last : nominal
        }
        try videoEncoder.encode(frame, into: packet) { packet in
            packet.duration = durations.removeValue(forKey: packet.pts) ?? 0
            // A pre-roll frame's packet (closed GOPs: it precedes the chunk's IDR in decode order).
            if prerollGOPs > 0, let chunk, let ticks = keyframeTicks, packet.pts < chunk.from * ticks { return }
            if firstVideoPacket.isEmpty { firstVideoPacket = Array(packet.bytes) }
            if shiftsByDecodeDelay {
                let shift = decodeDelayShift ?? max(0, packet.pts - packet.dts)
                decodeDelayShift = shift
                packet.pts += shift; packet.dts += shift
            }
            try write(packet, stream: videoStream, from: videoEncoder.timeBase)
        }
    }

    private func drainAudioGraph() throws {
        guard let audioGraph else { return }
        while try audioGraph.receive(into: audioFiltered) == .ok {
            meter.read(audioFiltered.pointer)
            try encodeAudio(audioFiltered)
        }
    }

    private func encodeAudio(_ frame: Frame?) throws {
        guard let audioEncoder, let audioStream else { return }
        if let frame {
            frame.pts = audioSamples
            audioSamples += Int64(frame.sampleCount)
        }
        try audioEncoder.encode(frame, into: packet) { packet in
            try write(packet, stream: audioStream, from: audioEncoder.timeBase)
        }
    }

    private func write(_ p: Packet, stream: Int, from base: TimeBase) throws {
        p.pointer.pointee.stream_index = Int32(stream)
        av_packet_rescale_ts(p.pointer, base.rational, muxer.timeBase(of: stream).rational)
        try muxer.write(p)
    }
}

/// A chapter mark for outputs whose profile keeps chapters.
public struct Chapter: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var timeBase: TimeBase
    public var title: String
    public init(start: Int64, end: Int64, timeBase: TimeBase, title: String) {
        self.start = start; self.end = end; self.timeBase = timeBase; self.title = title
    }
}
