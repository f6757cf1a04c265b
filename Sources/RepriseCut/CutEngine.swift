import CFFmpeg
import Foundation
import RepriseMedia

public struct CutRequest: Sendable {
    public var input: String
    public var output: String
    public var ranges: [RangeRequest]
    public var mode: CutMode
    /// x264/x265 preset for re-encoded frames.
    public var preset: String = "veryfast"
    /// Chapters of the output, in output seconds (e.g. one per product in a highlight reel).
    public var chapters: [CutChapter] = []
    /// libavformat muxer name; nil: chosen from the output's extension.
    public var formatName: String? = nil
    /// Quality of the re-encoded edges; nil: the source's local bitrate.
    public var edgeQuality: EdgeEncoding.Quality? = nil
    /// How the audio is encoded; nil: AAC matching the source.
    public var audio: CutAudioOutput? = nil
    public var muxerOptions: [String: String] = [:]
    /// Leave the audio out (a ladder carries it as its own rendition).
    public var videoOnly = false
    public init(input: String, output: String, ranges: [RangeRequest], mode: CutMode) {
        self.input = input; self.output = output; self.ranges = ranges; self.mode = mode
    }
}

/// The cut's audio as a caller wants it (a transcode profile): its encoder, behind a libavfilter
/// chain that the cut samples pass through first (e.g. loudness normalisation).
public struct CutAudioOutput: Sendable {
    public var encoder: AudioEncoderSettings
    /// The chain, given the encoder's sample format name. Its input: the cut's samples at the
    /// source's rate, planar float, timed in samples from the output's start.
    public var filter: @Sendable (_ sampleFormat: String) -> String
    /// Sees every frame the chain puts out, before it is encoded (e.g. a loudness meter).
    public var observe: (@Sendable (UnsafeMutablePointer<AVFrame>) -> Void)?
    public init(encoder: AudioEncoderSettings, filter: @escaping @Sendable (String) -> String,
                observe: (@Sendable (UnsafeMutablePointer<AVFrame>) -> Void)? = nil) {
        self.encoder = encoder; self.filter = filter; self.observe = observe
    }
}

public struct CutChapter: Codable, Sendable, Equatable {
    public var title: String
    public var start: Double
    public var end: Double
    public init(title: String, start: Double, end: Double) { self.title = title; self.start = start; self.end = end }
}

public struct CutResult: Codable, Sendable {
    public struct RangeOutcome: Codable, Sendable {
        public var from: Double
        public var to: Double
        public var frames: Int
        public var copiedPackets: Int
        public var reencodedFrames: Int
    }
    public var output: String
    public var mode: CutMode
    public var requestedMode: CutMode
    public var fallbackReason: String?
    public var frames: Int
    public var copiedPackets: Int
    public var reencodedFrames: Int
    public var duration: Double
    public var audio: Bool
    public var ranges: [RangeOutcome]
    public var seconds: Double
}

/// Executes a cut: plans from the packet index, then reads each range once, copying whole
/// GOPs and re-encoding the edges, and writes every range into one output in one pass.
public final class CutEngine {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    public static let outputFormats: [String: String] = ["mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska", "ts": "mpegts"]

    public func run(_ request: CutRequest) throws -> CutResult {
        do { return try cut(request) } catch let e as MediaError {
            // One line naming the file, whatever layer failed.
            throw CutError(.failed, path: request.input, detail: e.description)
        }
    }

    func cut(_ request: CutRequest) throws -> CutResult {
        let started = Date()
        try InputChecks.validate(input: request.input, output: request.output)
        let ext = (request.output as NSString).pathExtension.lowercased()
        guard let formatName = request.formatName ?? CutEngine.outputFormats[ext] else {
            throw CutError(.unsupported, path: request.output, detail: "unknown output type '.\(ext)' (use .mp4, .mkv or .ts)")
        }
        let demuxer: Demuxer
        do { demuxer = try Demuxer(path: request.input) } catch let e as MediaError {
            throw CutError(.notMedia, path: request.input, detail: "not a readable media file (\(e.message))")
        }
        guard let videoIndex = demuxer.bestVideoStream else {
            throw CutError(.noVideo, path: request.input, detail: "has no video stream")
        }
        let index: PacketIndex
        do {
            index = try PacketIndexer.index(path: request.input, demuxer: demuxer, videoStream: videoIndex) { [progress] f in
                progress?.update(stage: "indexing", fraction: f)
            }
        } catch let e as MediaError {
            throw CutError(.truncated, path: request.input, detail: "can't be read (\(e.message))")
        }
        guard !index.packets.isEmpty else { throw CutError(.truncated, path: request.input, detail: "holds no readable video packets") }
        let planner = CutPlanner(index: index, path: request.input)
        if let damaged = index.header.damagedAtPTS {
            progress?.note("\(request.input): damaged from \(planner.fmt(damaged)) (\(index.header.damageMessage ?? "read error")); only the readable part can be cut")
        }

        let video = demuxer.stream(videoIndex)
        let codec = video.pointee.codecpar.pointee.codec_id
        let matchable = codec == AV_CODEC_ID_H264 || codec == AV_CODEC_ID_HEVC
        var mode = request.mode
        var fallback: String? = nil
        if mode == .smart && !matchable {
            mode = .exact
            fallback = "\(demuxer.streams[videoIndex].codecName) can't be re-encoded to match the source, so the whole range is re-encoded as H.264 (exact)"
            progress?.note("\(request.input): \(fallback!)")
        }
        let plans = try planner.plan(request.ranges, mode: mode)
        for run in index.header.runs where run.undecodableFrames > 0 && run.firstPacket == 0 {
            progress?.note("\(request.input): it begins mid-GOP; its first \(run.undecodableFrames) frame(s) can't be decoded and are not part of the recording")
        }
        for reason in Set(plans.compactMap(\.reencodeReason)).sorted() { progress?.note("\(request.input): \(reason)") }

        let muxer = try Muxer(path: request.output, formatName: formatName)
        let needsEncoding = plans.contains { $0.head != nil || $0.tail != nil }
        let bitRate = CutEngine.localBitRate(index: index, plans: plans)
        let edge: EdgeEncoding? = needsEncoding
            ? try EdgeEncoding(stream: video, info: demuxer.streams[videoIndex], bitRate: bitRate, preset: request.preset,
                               matchSource: matchable, outputNeedsGlobalHeader: muxer.needsGlobalHeader, quality: request.edgeQuality)
            : nil
        let videoOut = try muxer.addStream()
        try CutEngine.configureVideoStream(videoOut, source: video, edge: edge, muxer: muxer)

        let muxLock = NSLock()
        var audio: AudioLane? = nil
        if let a = demuxer.bestAudioStream, !request.videoOnly {
            do {
                audio = AudioLane(cutter: try AudioCutter(demuxer: demuxer, stream: a, muxer: muxer, output: request.audio),
                                  muxer: muxer, muxLock: muxLock)
            } catch {
                // Audio the caller asked for in a given shape is not left out quietly.
                if request.audio != nil { throw error }
                progress?.note("\(request.input): audio left out (\(error))")
            }
        }
        var keep: Set<Int> = [videoIndex]
        if let a = audio { keep.insert(a.sourceStream) }
        demuxer.keepOnly(keep)
        for (n, c) in request.chapters.enumerated() where c.end > c.start {
            try muxer.addChapter(id: n + 1, start: Int64((c.start * 1000).rounded()), end: Int64((c.end * 1000).rounded()),
                                 timeBase: TimeBase(1, 1000), title: c.title)
        }
        try muxer.writeHeader(options: request.formatName != nil ? request.muxerOptions
                              : formatName == "mp4" || formatName == "mov" ? ["movflags": "+faststart"] : [:])

        // An encoder that reorders by itself (the H.264 fallback, with B-frames) sets the floor of the delay.
        let clock = OutputClock(writeOrder: OutputClock.writeOrder(of: plans, planner: planner),
                                minimumDelay: edge?.family == .other ? 4 : 0)
        let writer = RangeWriter(demuxer: demuxer, muxer: muxer, index: index, planner: planner, videoStream: videoIndex,
                                 edge: edge, audio: audio, muxLock: muxLock, progress: progress, path: request.input,
                                 totalPackets: plans.reduce(0) { $0 + $1.packetSpan.count }, clock: clock)
        var outcomes: [CutResult.RangeOutcome] = []
        for plan in plans {
            let stats = try writer.write(plan)
            let from = planner.timeBase.seconds(plan.firstPTS - planner.origin)
            let to = planner.timeBase.seconds(plan.endPTS - planner.origin)
            // A request planned in pieces (one per run) is reported as one range.
            if outcomes.count > plan.request, var last = outcomes.popLast() {
                last.to = to
                last.frames += stats.frames; last.copiedPackets += stats.copied; last.reencodedFrames += stats.encoded
                outcomes.append(last)
            } else {
                outcomes.append(.init(from: from, to: to, frames: stats.frames, copiedPackets: stats.copied, reencodedFrames: stats.encoded))
            }
        }
        try audio?.finishAll()
        try muxer.finish()
        progress?.update(stage: "done", fraction: 1)

        let total = plans.reduce(Int64(0)) { $0 + $1.duration }
        return CutResult(output: request.output, mode: mode, requestedMode: request.mode, fallbackReason: fallback,
                         frames: outcomes.reduce(0) { $0 + $1.frames },
                         copiedPackets: outcomes.reduce(0) { $0 + $1.copiedPackets },
                         reencodedFrames: outcomes.reduce(0) { $0 + $1.reencodedFrames },
                         duration: planner.timeBase.seconds(total), audio: audio?.sawAudio ?? false,
                         ranges: outcomes, seconds: Date().timeIntervalSince(started))
    }

    /// Bits per second of the source over the ranges being cut, so edges land in its bitrate class.
    static func localBitRate(index: PacketIndex, plans: [PlannedRange]) -> Int64 {
        var bytes: Int64 = 0, ticks: Int64 = 0
        for p in plans {
            let span = p.packetSpan
            for i in span { bytes += Int64(index.packets[i].size) }
            let pts = span.map { index.packets[$0].pts }
            if let lo = pts.min(), let hi = pts.max() { ticks += hi - lo + max(index.packets[span.upperBound - 1].duration, 1) }
        }
        let secs = index.timeBase.seconds(ticks)
        return secs > 0 ? Int64(Double(bytes * 8) / secs) : 0
    }

    static func configureVideoStream(_ out: UnsafeMutablePointer<AVStream>, source: UnsafeMutablePointer<AVStream>,
                                     edge: EdgeEncoding?, muxer: Muxer) throws {
        if let edge, edge.family == .other {
            var probe = edge.settings
            probe.globalHeader = muxer.needsGlobalHeader
            try Encoder(video: probe).copyParameters(to: out)
        } else {
            try check(avcodec_parameters_copy(out.pointee.codecpar, source.pointee.codecpar), "copy stream parameters")
            out.pointee.codecpar.pointee.codec_tag = 0
            if let edge {
                let data = edge.outputExtradata
                av_freep(&out.pointee.codecpar.pointee.extradata)
                if !data.isEmpty, let buf = av_mallocz(data.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) {
                    buf.copyMemory(from: data, byteCount: data.count)
                    out.pointee.codecpar.pointee.extradata = buf.assumingMemoryBound(to: UInt8.self)
                    out.pointee.codecpar.pointee.extradata_size = Int32(data.count)
                } else {
                    out.pointee.codecpar.pointee.extradata_size = 0
                }
                if edge.needsInBandParameterSets && (muxer.formatName == "mp4" || muxer.formatName == "mov") {
                    out.pointee.codecpar.pointee.codec_tag = fourCC("hev1")
                }
            }
        }
        out.pointee.time_base = source.pointee.time_base
        out.pointee.avg_frame_rate = source.pointee.avg_frame_rate
        out.pointee.r_frame_rate = source.pointee.r_frame_rate
        out.pointee.sample_aspect_ratio = source.pointee.sample_aspect_ratio
        // Rotation (display matrix) and other stream side data travel with the video.
        for i in 0..<Int(source.pointee.nb_side_data) {
            let sd = source.pointee.side_data[i]
            if let dst = av_stream_new_side_data(out, sd.type, sd.size) {
                dst.update(from: sd.data, count: sd.size)
            }
        }
        if let lang = av_dict_get(source.pointee.metadata, "language", nil, 0) {
            av_dict_set(&out.pointee.metadata, "language", lang.pointee.value, 0)
        }
    }
}

func fourCC(_ s: String) -> UInt32 {
    let b = Array(s.utf8)
    return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
}
