import CFFmpeg
import Foundation
import RepriseMedia
import RepriseProfiles

/// Everything one output needs after the shared decode: its own video graph and encoder, audio
/// graph and encoder, and muxer. Frames arrive timed from the range start (source time bases);
/// packets leave in the muxer's time bases. Used from one serial queue at a time.
final class OutputPipeline: @unchecked Sendable {
    let profile: Profile
    let path: String
    let render: VideoRender
    let videoChoice: EncoderChoice
    let audioChoice: EncoderChoice?
    let audioRender: AudioRender?
    /// Source frames presented at or after this (relative, source video time base) are left out.
    let videoLimit: Int64
    /// Where the kept video ends (relative, source video time base): the last frame's end.
    let videoEnd: Int64
    let sourceTimeBase: TimeBase
    let outputFrameRate: AVRational
    var notes: [String]

    private let videoGraph: FilterGraph
    private let videoEncoder: Encoder
    private let follow: FollowTracker?
    private let audioGraph: FilterGraph?
    private let audioEncoder: Encoder?
    let muxer: Muxer
    private let videoStream = 0
    private var audioStream: Int?

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
    /// The first failure; later work on this output is skipped.
    var failure: Error?

    struct Setup {
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
        let rate = s.sourceFrameRate.doubleValue
        render = RenderPlanner.plan(video: profile.video, source: (s.videoInput.width, s.videoInput.height),
                                    rotation: s.sourceRotation, frameRate: rate)
        notes = render.notes
        videoGraph = try FilterGraph(video: s.videoInput, description: render.filter)
        let graphRate = videoGraph.outputFrameRate
        outputFrameRate = render.frameRateCap.map { av_d2q($0, 1001000) }
            ?? (graphRate.num > 0 ? graphRate : (s.sourceFrameRate.num > 0 ? s.sourceFrameRate : AVRational(num: 30, den: 1)))
        if let window = render.follow {
            follow = try FollowTracker(window: window, input: s.videoInput,
                                       upright: RenderPlanner.uprightFilters(rotation: s.sourceRotation).filters,
                                       frameRate: outputFrameRate.doubleValue)
        } else {
            follow = nil
        }

        let format: String
        switch profile.container {
        case .mp4: format = "mp4"
        case .mkv: format = "matroska"
        case .ts: format = "mpegts"
        }
        muxer = try Muxer(path: path, formatName: format)

        videoChoice = try EncoderChoice.video(profile.video, frameRate: outputFrameRate.doubleValue)
        var vs = VideoEncoderSettings(codecName: videoChoice.encoder, width: videoGraph.outputWidth, height: videoGraph.outputHeight,
                                      pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: videoGraph.outputTimeBase,
                                      frameRate: outputFrameRate, sampleAspectRatio: AVRational(num: 1, den: 1))
        vs.options = videoChoice.options
        vs.globalHeader = muxer.needsGlobalHeader
        vs.colorPrimaries = 2; vs.colorTransfer = 2; vs.colorSpace = 2
        videoEncoder = try Encoder(video: vs)

        if let input = s.audioInput {
            let choice = try EncoderChoice.audio(profile.audio)
            notes += choice.notes
            var settings = AudioEncoderSettings(sampleRate: profile.audio.sampleRate, channels: profile.audio.channels,
                                                bitRate: Int64(profile.audio.bitrate))
            settings.codecName = choice.encoder
            settings.globalHeader = muxer.needsGlobalHeader
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
            notes.append("the source has no audio: the output has none")
        }

        let vst = try muxer.addStream()
        try videoEncoder.copyParameters(to: vst)
        vst.pointee.time_base = videoEncoder.timeBase.rational
        vst.pointee.avg_frame_rate = outputFrameRate
        // Apple players take HEVC in MP4 only as 'hvc1' (parameter sets in the sample entry).
        if profile.video.codec == .hevc && format == "mp4" {
            vst.pointee.codecpar.pointee.codec_tag = UInt32(UInt8(ascii: "h")) | UInt32(UInt8(ascii: "v")) << 8
                | UInt32(UInt8(ascii: "c")) << 16 | UInt32(UInt8(ascii: "1")) << 24
        }
        if let audioEncoder {
            let ast = try muxer.addStream()
            try audioEncoder.copyParameters(to: ast)
            ast.pointee.time_base = audioEncoder.timeBase.rational
            audioStream = 1
        }
        if profile.chapters {
            for (n, c) in s.chapters.enumerated() {
                try muxer.addChapter(id: n + 1, start: c.start, end: c.end, timeBase: c.timeBase, title: c.title)
            }
        }
        try muxer.writeHeader(options: format == "mp4" ? ["movflags": "+faststart"] : [:])
    }

    /// A source video frame, timed from the range start.
    func video(_ frame: Frame) {
        guard failure == nil, frame.pts < videoLimit else { return }
        do {
            try follow?.observe(frame, output: videoGraph)
            try videoGraph.send(frame)
            try drainVideoGraph()
        } catch { failure = error }
    }

    /// A source audio frame, timed from the range start (audio time base).
    func audio(_ frame: Frame) {
        guard failure == nil, let audioGraph else { return }
        do {
            try audioGraph.send(frame)
            try drainAudioGraph()
        } catch { failure = error }
    }

    /// Ends both streams, drains filters and encoders, and publishes the file.
    func finish() throws {
        if let failure { throw failure }
        try videoGraph.close(at: videoEnd)
        try drainVideoGraph()
        try encodeVideo(nil)
        if let audioGraph {
            try audioGraph.send(nil)
            try drainAudioGraph()
            try encodeAudio(nil)
        }
        try muxer.finish()
    }

    func discard() { muxer.discard() }

    private func drainVideoGraph() throws {
        while try videoGraph.receive(into: filtered) == .ok {
            try encodeVideo(filtered)
        }
    }

    private func encodeVideo(_ frame: Frame?) throws {
        if let frame {
            let pts = frame.pts
            if let previous = previousPTS { durations[previous] = pts - previous }
            previousPTS = pts
            // The source's picture types are not ours: let the encoder place keyframes by the GOP.
            frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
            framesOut += 1
        } else if let last = previousPTS {
            let end = sourceTimeBase.rescale(videoEnd, to: videoEncoder.timeBase)
            let nominal = max(1, av_rescale_q(1, av_inv_q(outputFrameRate), videoEncoder.timeBase.rational))
            durations[last] = render.frameRateCap == nil && end > last ? end - last : nominal
        }
        var result = try videoEncoder.send(frame)
        while true {
            let r = try videoEncoder.receive(into: packet)
            if r != .ok {
                if result == .needsMoreInput { result = try videoEncoder.send(frame); continue }
                break
            }
            packet.duration = durations.removeValue(forKey: packet.pts) ?? 0
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
        var result = try audioEncoder.send(frame)
        while true {
            let r = try audioEncoder.receive(into: packet)
            if r != .ok {
                if result == .needsMoreInput { result = try audioEncoder.send(frame); continue }
                break
            }
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
