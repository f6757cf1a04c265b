import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// What to stitch: a chunked encode's video parts, in order, and its audio part.
public struct StitchRequest: Sendable {
    public var videoParts: [String]
    public var audio: String?
    public var output: String
    /// Remove the parts once the output is published.
    public var removeParts = false
    public init(videoParts: [String], audio: String?, output: String) {
        self.videoParts = videoParts; self.audio = audio; self.output = output
    }
}

public struct StitchResult: Encodable, Sendable {
    /// The stitched file, as transcode's result lists its outputs (scripts read `outputs[].output`).
    public struct Output: Encodable, Sendable {
        public var output: String
        public var frames: Int
        public var audioPackets: Int
        /// Seconds of video.
        public var duration: Double
        public var size: Int
        public var bitrate: Double
    }
    public var parts: [String]
    public var audio: String?
    public var output: String
    public var outputs: [Output]
    /// Wall-clock seconds.
    public var seconds: Double
}

/// Joins the parts of a chunked encode into one MP4 in one copy pass: every packet's bytes as
/// the part holds them, video parts laid end to end (each must begin exactly where the one
/// before ends), the audio part interleaved by time, `+faststart`, published by rename.
///
/// Decode times: a chunk's encoder gave its first few (B-frame delay) packets decode times from
/// its own first frames; the whole encode gives those packets the presentation times of the
/// frames just before the chunk (x264: dts = the pts `delay` frames earlier in presentation
/// order). The stitch writes the latter, so decode times rise strictly across every join and
/// equal the unchunked output's.
public enum ChunkStitcher {
    public static func run(_ r: StitchRequest) throws -> StitchResult {
        let started = Date()
        guard !r.videoParts.isEmpty else {
            throw CutError(.badSegments, path: r.output, detail: "no video part to stitch")
        }
        for p in r.videoParts + (r.audio.map { [$0] } ?? []) { try InputChecks.validate(input: p) }
        for p in r.videoParts + (r.audio.map { [$0] } ?? []) { try InputChecks.validate(output: r.output, input: p) }
        guard Set(r.videoParts).count == r.videoParts.count else {
            throw CutError(.badSegments, path: r.output, detail: "a video part is listed twice")
        }

        let video = try VideoParts(paths: r.videoParts)
        let audio = try r.audio.map { try StreamReader(path: $0, kind: AVMEDIA_TYPE_AUDIO, what: "audio") }
        if let audio {
            // The audio part is encoded to the video's length, to the sample: another length is another output's.
            let st = audio.demuxer.stream(audio.stream).pointee
            let seconds = st.duration == NOPTS ? 0 : audio.timeBase.seconds(st.duration)
            let videoSeconds = video.timeBase.seconds(video.spanEnd - video.spanStart)
            guard abs(seconds - videoSeconds) <= 0.05 else {
                throw CutError(.badSegments, path: audio.path,
                               detail: String(format: "lasts %.3f s but the video parts %.3f s: not the audio of this output", seconds, videoSeconds))
            }
        }

        let muxer: Muxer
        do { muxer = try Muxer(path: r.output, formatName: "mp4") } catch let e as MediaError {
            throw CutError(.unwritableOutput, path: r.output, detail: e.description)
        }
        var published = false
        defer { if !published { muxer.discard() } }
        var frames = 0, audioPackets = 0
        do {
            let vst = try muxer.addStream()
            try video.first.describe(vst)
            var ast: UnsafeMutablePointer<AVStream>? = nil
            if let audio {
                ast = try muxer.addStream()
                try audio.describe(ast!)
            }
            try muxer.writeHeader(options: ["movflags": "+faststart"])
            let vOut = muxer.timeBase(of: Int(vst.pointee.index))
            let aOut = ast.map { muxer.timeBase(of: Int($0.pointee.index)) }

            let vp = Packet(), ap = Packet()
            var hasVideo = try video.next(into: vp)
            var hasAudio = try audio?.next(into: ap) ?? false
            while hasVideo || hasAudio {
                let takeVideo = hasVideo && (!hasAudio
                    || av_compare_ts(vp.dts, video.timeBase.rational, ap.dts, audio!.timeBase.rational) <= 0)
                if takeVideo {
                    vp.rescale(from: video.timeBase, to: vOut)
                    vp.pointer.pointee.stream_index = vst.pointee.index
                    vp.pointer.pointee.pos = -1
                    try muxer.write(vp)
                    frames += 1
                    hasVideo = try video.next(into: vp)
                } else {
                    ap.rescale(from: audio!.timeBase, to: aOut!)
                    ap.pointer.pointee.stream_index = ast!.pointee.index
                    ap.pointer.pointee.pos = -1
                    try muxer.write(ap)
                    audioPackets += 1
                    hasAudio = try audio!.next(into: ap)
                }
            }
            try muxer.complete()
            try muxer.publish()
            published = true
        } catch let e as MediaError {
            throw CutError(.failed, path: r.output, detail: e.description)
        }
        if r.removeParts {
            for p in r.videoParts + (r.audio.map { [$0] } ?? []) { try? FileManager.default.removeItem(atPath: p) }
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: r.output)[.size]) as? NSNumber)?.intValue ?? 0
        let duration = video.timeBase.seconds(video.end - video.start)
        let out = StitchResult.Output(output: r.output, frames: frames, audioPackets: audioPackets, duration: duration,
                                      size: size, bitrate: duration > 0 ? Double(size) * 8 / duration : 0)
        return StitchResult(parts: r.videoParts, audio: r.audio, output: r.output, outputs: [out],
                            seconds: Date().timeIntervalSince(started))
    }
}

/// One stream of one part, read packet by packet.
final class StreamReader {
    let path: String
    let demuxer: Demuxer
    let stream: Int
    var timeBase: TimeBase { TimeBase(demuxer.stream(stream).pointee.time_base) }
    var parameters: UnsafeMutablePointer<AVCodecParameters> { demuxer.stream(stream).pointee.codecpar }

    init(path: String, kind: AVMediaType, what: String) throws {
        self.path = path
        do { demuxer = try Demuxer(path: path) } catch let e as MediaError {
            throw CutError(.notMedia, path: path, detail: "not a readable \(what) part (\(e.message))")
        }
        let found = kind == AVMEDIA_TYPE_VIDEO ? demuxer.bestVideoStream : demuxer.bestAudioStream
        guard let found else { throw CutError(.badSegments, path: path, detail: "has no \(what) stream: not a \(what) part") }
        stream = found
        demuxer.keepOnly([found])
    }

    /// The output stream's parameters: this stream's codec, header and time base.
    func describe(_ out: UnsafeMutablePointer<AVStream>) throws {
        let st = demuxer.stream(stream)
        try check(avcodec_parameters_copy(out.pointee.codecpar, st.pointee.codecpar), "copy stream parameters")
        out.pointee.time_base = st.pointee.time_base
        out.pointee.avg_frame_rate = st.pointee.avg_frame_rate
    }

    /// The next packet of the stream; false at its end.
    func next(into packet: Packet) throws -> Bool {
        while true {
            switch demuxer.read(into: packet) {
            case .endOfFile: return false
            case .damaged(let code):
                throw CutError(.truncated, path: path, detail: "can't be read to its end (\(MediaError(code: code, operation: "read").message))")
            case .packet:
                if packet.streamIndex == stream { return true }
            }
        }
    }
}

/// The video parts, read one after another as one stream: each checked to carry the first's
/// codec and parameter sets and to begin (with a keyframe) exactly where the one before ends.
final class VideoParts {
    let parts: [StreamReader]
    var first: StreamReader { parts[0] }
    let timeBase: TimeBase
    private var current = 0
    /// Presentation start of the first part, and the end of the last part read through.
    private(set) var start: Int64 = 0
    private(set) var end: Int64 = 0
    private var started = false
    private var lastDTS: Int64 = .min
    /// The latest presentation times so far, ascending (the decode times a join's first packets take).
    private var recent: [Int64] = []
    private var startOfPart = true

    /// Where each part's video ends (its start plus its duration, as its track says).
    private let partEnds: [Int64]
    /// The video the parts make together, as their tracks say.
    var spanStart: Int64 { parts[0].demuxer.stream(parts[0].stream).pointee.start_time }
    var spanEnd: Int64 { partEnds[partEnds.count - 1] }

    init(paths: [String]) throws {
        parts = try paths.map { try StreamReader(path: $0, kind: AVMEDIA_TYPE_VIDEO, what: "video") }
        timeBase = parts[0].timeBase
        // Packets read back from MP4 carry no durations: a part's span is its track's.
        partEnds = try parts.map { part in
            let st = part.demuxer.stream(part.stream).pointee
            guard st.start_time != NOPTS, st.duration != NOPTS, st.duration > 0 else {
                throw CutError(.badSegments, path: part.path, detail: "its video track has no start or duration")
            }
            return st.start_time + st.duration
        }
        for k in parts.indices.dropFirst() {
            try VideoParts.checkJoin(part: parts[k].path, starts: parts[k].demuxer.stream(parts[k].stream).pointee.start_time,
                                     previousEnd: partEnds[k - 1], timeBase: timeBase)
        }
        let a = parts[0].parameters.pointee
        func extradata(_ p: AVCodecParameters) -> [UInt8] {
            p.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(p.extradata_size))) } ?? []
        }
        for part in parts.dropFirst() {
            let b = part.parameters.pointee
            var differs: [String] = []
            if b.codec_id != a.codec_id { differs.append("codec") }
            if b.width != a.width || b.height != a.height { differs.append("size \(b.width)x\(b.height), not \(a.width)x\(a.height)") }
            if b.format != a.format { differs.append("pixel format") }
            if extradata(b) != extradata(a) { differs.append("parameter sets") }
            if part.timeBase != timeBase { differs.append("time base \(part.timeBase), not \(timeBase)") }
            if !differs.isEmpty {
                throw CutError(.badSegments, path: part.path,
                               detail: "not encoded like \(parts[0].path) (\(differs.joined(separator: ", "))): parts of one output must share the encoder settings")
            }
        }
    }

    /// The next packet in decode order, retimed; false after the last part.
    func next(into packet: Packet) throws -> Bool {
        if pending.isEmpty { try fill() }
        guard !pending.isEmpty else { return false }
        let p = pending.removeFirst()
        try packet.reference(p)
        recent.append(packet.pts)
        recent.sort()
        if recent.count > 32 { recent.removeFirst(recent.count - 32) }
        if pending.isEmpty { try fill() }
        if pending.isEmpty {
            // The last packet: only its duration gives the file's last sample its length.
            let later = recent.first { $0 > packet.pts }
            packet.duration = (later ?? partEnds[parts.count - 1]) - packet.pts
        }
        guard packet.dts > lastDTS, packet.dts <= packet.pts else {
            throw CutError(.badSegments, path: parts[min(current, parts.count - 1)].path,
                           detail: String(format: "decode time %.6f s can't follow %.6f s", timeBase.seconds(packet.dts), timeBase.seconds(lastDTS)))
        }
        lastDTS = packet.dts
        return true
    }

    /// Packets read ahead, retimed, not yet handed out.
    private var pending: [Packet] = []

    /// Reads the next packet; at a part's start, also its lead-in (decode times before its
    /// first frame's), whose decode times become the presentation times of the frames before it.
    private func fill() throws {
        while current < parts.count {
            let part = parts[current]
            let packet = Packet()
            guard try part.next(into: packet) else {
                end = partEnds[current]
                current += 1
                startOfPart = true
                continue
            }
            guard packet.pts != NOPTS, packet.dts != NOPTS else {
                throw CutError(.badSegments, path: part.path, detail: "a video packet has no timestamp")
            }
            guard startOfPart else { pending.append(packet); return }
            startOfPart = false
            guard packet.isKey else { throw CutError(.badSegments, path: part.path, detail: "does not begin with a keyframe") }
            let first = packet.pts
            if !started {
                started = true
                start = first
                end = first
                pending.append(packet)
                return
            }
            try VideoParts.checkJoin(part: part.path, starts: first, previousEnd: end, timeBase: timeBase)
            var lead = [packet]
            while lead.last!.dts < first {
                let more = Packet()
                guard try part.next(into: more) else { break }
                lead.append(more)
            }
            let leading = lead.prefix { $0.dts < first }.count
            guard leading <= recent.count else {
                throw CutError(.badSegments, path: part.path, detail: "its decode delay (\(leading) frames) is longer than the parts before it")
            }
            for j in 0..<leading { lead[j].dts = recent[recent.count - leading + j] }
            pending += lead
            return
        }
    }

    /// A part must begin exactly where the one before it ends: no gap, no overlap.
    static func checkJoin(part: String, starts first: Int64, previousEnd end: Int64, timeBase: TimeBase) throws {
        guard first != end else { return }
        let (a, b) = (timeBase.seconds(end), timeBase.seconds(first))
        let what = first > end ? "a gap of" : "an overlap of"
        throw CutError(.badSegments, path: part,
                       detail: String(format: "begins at %.6f s but the part before it ends at %.6f s (%@ %.6f s)", b, a, what, abs(b - a)))
    }
}
