import CFFmpeg

/// A decoder for one input stream. Owns its AVCodecContext.
public final class Decoder {
    public let context: UnsafeMutablePointer<AVCodecContext>
    public let timeBase: TimeBase

    /// - Parameter extradata: parameter sets to decode with in place of the stream's (a run
    ///   after a reconnect that brought a new sequence header).
    public init(parameters: UnsafePointer<AVCodecParameters>, timeBase: TimeBase, threads: Int = 0,
                extradata: [UInt8]? = nil) throws {
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw MediaError("open decoder", message: "no decoder for \(String(cString: avcodec_get_name(parameters.pointee.codec_id)))")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError("open decoder", message: "out of memory") }
        context = ctx
        self.timeBase = timeBase
        try check(avcodec_parameters_to_context(ctx, parameters), "decoder parameters")
        if let extradata, !extradata.isEmpty {
            av_freep(&ctx.pointee.extradata)
            guard let buf = av_mallocz(extradata.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else {
                throw MediaError("open decoder", message: "out of memory")
            }
            buf.copyMemory(from: extradata, byteCount: extradata.count)
            ctx.pointee.extradata = buf.assumingMemoryBound(to: UInt8.self)
            ctx.pointee.extradata_size = Int32(extradata.count)
        }
        ctx.pointee.pkt_timebase = timeBase.rational
        ctx.pointee.thread_count = Int32(threads)
        try check(avcodec_open2(ctx, codec, nil), "open decoder")
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Sends a packet; `nil` starts draining. `.needsMoreInput` here means "receive first".
    public func send(_ packet: Packet?) throws -> CodecResult {
        let r = avcodec_send_packet(context, packet?.pointer)
        if r == AVERROR_EAGAIN_VALUE { return .needsMoreInput }
        if r == AVERROR_EOF_VALUE { return .endOfStream }
        // A damaged packet (bit errors, a cut-off tag) is skipped, as the ffmpeg program does: the
        // decoder conceals what it can, and a range with no decodable picture fails further up.
        if r < 0 && r != cff_averror_enomem() { return .ok }
        try check(r, "decode")
        return .ok
    }

    public func receive(into frame: Frame) throws -> CodecResult {
        frame.unref()
        var r = avcodec_receive_frame(context, frame.pointer)
        // A picture too damaged to conceal is skipped; the next one may decode.
        var skipped = 0
        while r < 0 && r != AVERROR_EAGAIN_VALUE && r != AVERROR_EOF_VALUE && r != cff_averror_enomem() && skipped < 16 {
            skipped += 1
            r = avcodec_receive_frame(context, frame.pointer)
        }
        if r < 0 && r != AVERROR_EAGAIN_VALUE && r != AVERROR_EOF_VALUE && r != cff_averror_enomem() { return .needsMoreInput }
        if r == AVERROR_EAGAIN_VALUE { return .needsMoreInput }
        if r == AVERROR_EOF_VALUE { return .endOfStream }
        try check(r, "decode")
        return .ok
    }

    /// Sends `packet` (nil: drain) and hands each frame it yields to `body`. A send the decoder
    /// refuses until its output is read (EAGAIN) is retried after reading, so no packet is lost.
    public func decode(_ packet: Packet?, into frame: Frame, _ body: (Frame) throws -> Void) throws {
        var pending = packet
        repeat {
            if try send(pending) != .needsMoreInput { pending = nil }
            while try receive(into: frame) == .ok { try body(frame) }
        } while pending != nil
    }

    /// Resets after a drain so the decoder can start again at a new random-access point.
    public func reset() { avcodec_flush_buffers(context) }
}
