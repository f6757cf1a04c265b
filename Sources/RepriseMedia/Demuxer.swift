import CFFmpeg

/// Read-only view of one stream of an opened input.
public struct StreamInfo: Sendable {
    public enum Kind: String, Sendable { case video, audio, subtitle, data, other }
    public var index: Int
    public var kind: Kind
    public var codecID: UInt32
    public var codecName: String
    public var timeBase: TimeBase
    public var startTime: Int64
    public var duration: Int64
    public var width: Int
    public var height: Int
    public var pixelFormat: Int32
    public var pixelFormatName: String?
    public var profile: Int32
    public var profileName: String?
    public var level: Int32
    public var bitRate: Int64
    public var sampleRate: Int
    public var channels: Int
    public var averageFrameRate: AVRational
    public var realFrameRate: AVRational
    public var rotation: Double
    public var frameCount: Int64
    public var isAttachedPicture: Bool
    /// Primaries, transfer, matrix, range and bit depth (video streams).
    public var colour: ColourProperties? = nil
}

/// An opened input file. Owns the AVFormatContext; closes it with avformat_close_input.
public final class Demuxer {
    public let path: String
    public let context: UnsafeMutablePointer<AVFormatContext>
    public private(set) var streams: [StreamInfo] = []

    public init(path: String) throws {
        self.path = path
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_open_input(&ctx, path, nil, nil), "open")
        guard let opened = ctx else { throw MediaError("open", message: "no context") }
        context = opened
        // Not closed here on failure: `context` is set, so `deinit` runs when init throws and
        // closes it, once.
        let info = avformat_find_stream_info(opened, nil)
        if info < 0 { throw MediaError(code: info, operation: "read stream info") }
        streams = (0..<Int(opened.pointee.nb_streams)).map { Demuxer.describe(opened.pointee.streams[$0]!) }
    }

    deinit {
        var c: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&c)
    }

    public var formatName: String { String(cString: context.pointee.iformat.pointee.name) }
    /// Container start time in microseconds (AV_TIME_BASE), 0 when unknown.
    public var startTimeMicros: Int64 {
        let s = context.pointee.start_time
        return s == NOPTS ? 0 : s
    }
    /// Container duration in microseconds, or nil when unknown.
    public var durationMicros: Int64? {
        let d = context.pointee.duration
        return d == NOPTS || d <= 0 ? nil : d
    }
    public var fileSize: Int64 {
        guard let pb = context.pointee.pb else { return 0 }
        return avio_size(pb)
    }

    public func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }

    /// The main video stream: FFmpeg's pick, never an attached cover picture.
    public var bestVideoStream: Int? {
        let i = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if i >= 0 && !streams[Int(i)].isAttachedPicture { return Int(i) }
        return streams.first { $0.kind == .video && !$0.isAttachedPicture }?.index
    }
    public var bestAudioStream: Int? {
        let i = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        return i >= 0 ? Int(i) : nil
    }

    /// Tells the demuxer to skip streams we don't need (saves parsing work).
    public func keepOnly(_ indices: Set<Int>) {
        for i in 0..<streams.count {
            stream(i).pointee.discard = indices.contains(i) ? AVDISCARD_DEFAULT : AVDISCARD_ALL
        }
    }

    /// Reads the next packet into `packet` (unreferencing what it held).
    public func read(into packet: Packet) -> ReadResult {
        packet.unref()
        let r = av_read_frame(context, packet.pointer)
        if r >= 0 { return .packet }
        if r == AVERROR_EOF_VALUE { return .endOfFile }
        // A read error after the header means the rest of the file can't be read.
        return .damaged(r)
    }

    /// Seeks so that reading resumes at or before `timestamp` (in `stream`'s time base).
    /// Callers must verify where they landed: container seeks can land early or (rarely) late.
    public func seek(stream: Int, timestamp: Int64) throws {
        try check(avformat_seek_file(context, Int32(stream), Int64.min, timestamp, timestamp, 0),
                  "seek to \(timestamp) in stream \(stream)")
    }

    /// Back to the first packet of every stream; a byte seek to 0 where timestamps can't do it.
    public func seekToStart() throws {
        let start = context.pointee.start_time == NOPTS ? 0 : context.pointee.start_time
        if avformat_seek_file(context, -1, Int64.min, start, start, 0) >= 0 { return }
        try check(avformat_seek_file(context, -1, Int64.min, 0, 0, AVSEEK_FLAG_BYTE), "seek to the start")
    }

    /// Seeks to a byte position (used when a timestamp seek lands late).
    public func seek(bytePosition: Int64) throws {
        try check(avformat_seek_file(context, -1, Int64.min, bytePosition, bytePosition, AVSEEK_FLAG_BYTE),
                  "seek to byte \(bytePosition)")
    }

    public var metadataCreationTime: String? { metadata("creation_time") }

    /// A container-level tag ("creation_time", "com.apple.quicktime.creationdate"), as written.
    public func metadata(_ key: String) -> String? {
        guard let e = av_dict_get(context.pointee.metadata, key, nil, 0) else { return nil }
        return String(cString: e.pointee.value)
    }

    static func describe(_ st: UnsafeMutablePointer<AVStream>) -> StreamInfo {
        let par = st.pointee.codecpar!.pointee
        let kind: StreamInfo.Kind
        switch par.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = .video
        case AVMEDIA_TYPE_AUDIO: kind = .audio
        case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
        case AVMEDIA_TYPE_DATA: kind = .data
        default: kind = .other
        }
        let pixName: String? = kind == .video ? av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } : nil
        let profName = avcodec_profile_name(par.codec_id, par.profile).map { String(cString: $0) }
        var info = StreamInfo(
            index: Int(st.pointee.index), kind: kind, codecID: par.codec_id.rawValue,
            codecName: String(cString: avcodec_get_name(par.codec_id)),
            timeBase: TimeBase(st.pointee.time_base), startTime: st.pointee.start_time,
            duration: st.pointee.duration, width: Int(par.width), height: Int(par.height),
            pixelFormat: par.format, pixelFormatName: pixName, profile: par.profile, profileName: profName,
            level: par.level, bitRate: par.bit_rate, sampleRate: Int(par.sample_rate),
            channels: Int(par.ch_layout.nb_channels), averageFrameRate: st.pointee.avg_frame_rate,
            realFrameRate: st.pointee.r_frame_rate, rotation: cff_stream_rotation(st),
            frameCount: st.pointee.nb_frames,
            isAttachedPicture: st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0)
        if kind == .video { info.colour = ColourProperties(parameters: st.pointee.codecpar) }
        return info
    }
}
