import CFFmpeg

/// What a video encoder is asked to produce.
public struct VideoEncoderSettings: Sendable {
    public var codecName: String          // "libx264", "libx265"
    public var width: Int
    public var height: Int
    public var pixelFormat: Int32
    public var timeBase: TimeBase
    public var frameRate: AVRational
    public var sampleAspectRatio: AVRational
    public var profile: Int32?
    public var level: Int32?
    public var bitRate: Int64?
    public var maxRate: Int64?
    public var bufferSize: Int64?
    public var gopSize: Int?
    public var maxBFrames: Int?
    public var globalHeader: Bool = false
    /// 0 lets the codec pick (all cores); libavcodec's own default is a single thread.
    public var threads: Int = 0
    public var colorRange: Int32 = 0
    public var colorPrimaries: Int32 = 2
    public var colorTransfer: Int32 = 2
    public var colorSpace: Int32 = 2
    public var chromaLocation: Int32 = 0
    public var fieldOrder: Int32 = 0
    /// Options for the codec's private class, e.g. ["preset": "veryfast", "x264-params": "…"].
    public var options: [String: String] = [:]

    public init(codecName: String, width: Int, height: Int, pixelFormat: Int32, timeBase: TimeBase,
                frameRate: AVRational, sampleAspectRatio: AVRational = AVRational(num: 0, den: 1)) {
        self.codecName = codecName; self.width = width; self.height = height
        self.pixelFormat = pixelFormat; self.timeBase = timeBase; self.frameRate = frameRate
        self.sampleAspectRatio = sampleAspectRatio
    }
}

public struct AudioEncoderSettings: Sendable {
    public var codecName: String = "aac"
    public var sampleRate: Int
    public var channels: Int
    public var bitRate: Int64
    public var globalHeader: Bool = true
    /// Options for the codec's private class (e.g. ["aac_coder": "fast"]).
    public var options: [String: String] = [:]
    public init(sampleRate: Int, channels: Int, bitRate: Int64) {
        self.sampleRate = sampleRate; self.channels = channels; self.bitRate = bitRate
    }
}

/// An encoder. Owns its AVCodecContext.
public final class Encoder {
    public let context: UnsafeMutablePointer<AVCodecContext>
    public let timeBase: TimeBase

    public init(video s: VideoEncoderSettings) throws {
        guard let codec = avcodec_find_encoder_by_name(s.codecName) else {
            throw MediaError("open encoder", message: "encoder \(s.codecName) is not available in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError("open encoder", message: "out of memory") }
        context = ctx
        timeBase = s.timeBase
        ctx.pointee.width = Int32(s.width)
        ctx.pointee.height = Int32(s.height)
        ctx.pointee.pix_fmt = AVPixelFormat(rawValue: s.pixelFormat)
        ctx.pointee.time_base = s.timeBase.rational
        ctx.pointee.framerate = s.frameRate
        ctx.pointee.sample_aspect_ratio = s.sampleAspectRatio
        if let p = s.profile, p >= 0 { ctx.pointee.profile = p }
        if let l = s.level, l > 0 { ctx.pointee.level = l }
        if let b = s.bitRate, b > 0 { ctx.pointee.bit_rate = b }
        if let m = s.maxRate, m > 0 { ctx.pointee.rc_max_rate = m }
        if let b = s.bufferSize, b > 0 { ctx.pointee.rc_buffer_size = Int32(clamping: b) }
        if let g = s.gopSize { ctx.pointee.gop_size = Int32(g) }
        if let b = s.maxBFrames { ctx.pointee.max_b_frames = Int32(b) }
        ctx.pointee.color_range = AVColorRange(rawValue: UInt32(s.colorRange))
        ctx.pointee.color_primaries = AVColorPrimaries(rawValue: UInt32(s.colorPrimaries))
        ctx.pointee.color_trc = AVColorTransferCharacteristic(rawValue: UInt32(s.colorTransfer))
        ctx.pointee.colorspace = AVColorSpace(rawValue: UInt32(s.colorSpace))
        ctx.pointee.chroma_sample_location = AVChromaLocation(rawValue: UInt32(s.chromaLocation))
        ctx.pointee.field_order = AVFieldOrder(rawValue: UInt32(s.fieldOrder))
        if s.globalHeader { ctx.pointee.flags |= cff_codec_flag_global_header() }
        ctx.pointee.thread_count = Int32(s.threads)
        try Encoder.open(ctx, codec, s.options)
    }

    public init(audio s: AudioEncoderSettings) throws {
        guard let codec = avcodec_find_encoder_by_name(s.codecName) else {
            throw MediaError("open encoder", message: "encoder \(s.codecName) is not available in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError("open encoder", message: "out of memory") }
        context = ctx
        timeBase = TimeBase(1, Int32(s.sampleRate))
        ctx.pointee.sample_rate = Int32(s.sampleRate)
        ctx.pointee.sample_fmt = codec.pointee.sample_fmts?.pointee ?? AV_SAMPLE_FMT_FLTP
        av_channel_layout_default(&ctx.pointee.ch_layout, Int32(s.channels))
        ctx.pointee.bit_rate = s.bitRate
        ctx.pointee.time_base = timeBase.rational
        if s.globalHeader { ctx.pointee.flags |= cff_codec_flag_global_header() }
        try Encoder.open(ctx, codec, s.options)
    }

    private static func open(_ ctx: UnsafeMutablePointer<AVCodecContext>, _ codec: UnsafePointer<AVCodec>,
                             _ options: [String: String]) throws {
        var dict: OpaquePointer? = nil
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        defer { av_dict_free(&dict) }
        let r = avcodec_open2(ctx, codec, &dict)
        // The context is not freed here: `context` is already set, so `deinit` runs when an init
        // throws and frees it, once.
        if r < 0 { throw MediaError(code: r, operation: "open encoder \(String(cString: codec.pointee.name))") }
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Samples per audio frame the encoder wants (1024 for AAC); 0 for video.
    public var frameSize: Int { Int(context.pointee.frame_size) }

    public var extradata: [UInt8] {
        guard let d = context.pointee.extradata, context.pointee.extradata_size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: Int(context.pointee.extradata_size)))
    }

    /// Sends a frame; `nil` starts draining.
    public func send(_ frame: Frame?) throws -> CodecResult {
        let r = avcodec_send_frame(context, frame?.pointer)
        if r == AVERROR_EAGAIN_VALUE { return .needsMoreInput }
        if r == AVERROR_EOF_VALUE { return .endOfStream }
        try check(r, "encode")
        return .ok
    }

    public func receive(into packet: Packet) throws -> CodecResult {
        packet.unref()
        let r = avcodec_receive_packet(context, packet.pointer)
        if r == AVERROR_EAGAIN_VALUE { return .needsMoreInput }
        if r == AVERROR_EOF_VALUE { return .endOfStream }
        try check(r, "encode")
        return .ok
    }

    /// Sends `frame` (nil: drain) and hands each packet it yields to `body`; the counterpart of
    /// `Decoder.decode(_:into:_:)`. A send the encoder refuses until its output is read (EAGAIN)
    /// is retried after reading, so no frame is lost.
    public func encode(_ frame: Frame?, into packet: Packet, _ body: (Packet) throws -> Void) throws {
        var pending = true
        repeat {
            if try send(frame) != .needsMoreInput { pending = false }
            while try receive(into: packet) == .ok { try body(packet) }
        } while pending
    }

    /// Copies this encoder's parameters into a muxer stream.
    public func copyParameters(to stream: UnsafeMutablePointer<AVStream>) throws {
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, context), "encoder parameters")
    }
}
