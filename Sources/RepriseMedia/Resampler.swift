import CFFmpeg

/// Converts audio between sample formats, rates and layouts (libswresample). Owns its SwrContext.
public final class Resampler {
    private var context: OpaquePointer?
    public let outputRate: Int
    public let outputFormat: AVSampleFormat
    public let outputChannels: Int

    public init(inputRate: Int, inputFormat: AVSampleFormat, inputLayout: UnsafeMutablePointer<AVChannelLayout>,
                outputRate: Int, outputFormat: AVSampleFormat, outputLayout: UnsafeMutablePointer<AVChannelLayout>) throws {
        self.outputRate = outputRate
        self.outputFormat = outputFormat
        self.outputChannels = Int(outputLayout.pointee.nb_channels)
        var ctx: OpaquePointer? = nil
        try check(swr_alloc_set_opts2(&ctx, outputLayout, outputFormat, Int32(outputRate),
                                      inputLayout, inputFormat, Int32(inputRate), 0, nil), "resampler options")
        context = ctx
        try check(swr_init(ctx), "resampler init")
    }

    deinit { swr_free(&context) }

    /// Converts `input` (or drains with nil) into a new frame in `output`; returns samples written.
    @discardableResult
    public func convert(_ input: Frame?, into output: Frame, capacity: Int) throws -> Int {
        output.unref()
        output.pointer.pointee.format = outputFormat.rawValue
        output.pointer.pointee.sample_rate = Int32(outputRate)
        av_channel_layout_default(&output.pointer.pointee.ch_layout, Int32(outputChannels))
        output.pointer.pointee.nb_samples = Int32(max(capacity, 1))
        try check(av_frame_get_buffer(output.pointer, 0), "audio buffer")
        let n: Int32
        if let input {
            let inData = input.pointer.pointee.extended_data!
            n = inData.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) {
                swr_convert(context, output.pointer.pointee.extended_data, Int32(capacity), $0, input.pointer.pointee.nb_samples)
            }
        } else {
            n = swr_convert(context, output.pointer.pointee.extended_data, Int32(capacity), nil, 0)
        }
        try check(n, "resample")
        output.pointer.pointee.nb_samples = n
        return Int(n)
    }
}

/// A first-in first-out buffer of audio samples in one format (AVAudioFifo). Owns it.
public final class AudioBuffer {
    private let fifo: OpaquePointer
    public let format: AVSampleFormat
    public let channels: Int

    public init(format: AVSampleFormat, channels: Int) throws {
        guard let f = av_audio_fifo_alloc(format, Int32(channels), 4096) else {
            throw MediaError("audio buffer", message: "out of memory")
        }
        fifo = f; self.format = format; self.channels = channels
    }
    deinit { av_audio_fifo_free(fifo) }

    public var count: Int { Int(av_audio_fifo_size(fifo)) }

    /// Appends `count` samples of `frame` starting at sample `offset`.
    public func append(_ frame: Frame, offset: Int, count: Int) throws {
        guard count > 0 else { return }
        let bps = Int(av_get_bytes_per_sample(format))
        let planar = av_sample_fmt_is_planar(format) != 0
        let planes = planar ? channels : 1
        let step = planar ? bps : bps * channels
        var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: planes)
        for p in 0..<planes {
            pointers[p] = UnsafeMutableRawPointer(frame.pointer.pointee.extended_data[p]!.advanced(by: offset * step))
        }
        let written = pointers.withUnsafeMutableBufferPointer { buf in
            av_audio_fifo_write(fifo, buf.baseAddress, Int32(count))
        }
        try check(written, "audio buffer write")
    }

    /// Appends `count` samples of silence.
    public func appendSilence(_ count: Int) throws {
        guard count > 0 else { return }
        let silent = Frame()
        silent.pointer.pointee.format = format.rawValue
        silent.pointer.pointee.nb_samples = Int32(count)
        av_channel_layout_default(&silent.pointer.pointee.ch_layout, Int32(channels))
        try check(av_frame_get_buffer(silent.pointer, 0), "silence buffer")
        av_samples_set_silence(silent.pointer.pointee.extended_data, 0, Int32(count), Int32(channels), format)
        try append(silent, offset: 0, count: count)
    }

    /// Moves up to `count` samples into `frame` (allocating its buffer).
    public func read(into frame: Frame, count: Int, sampleRate: Int) throws -> Int {
        frame.unref()
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.nb_samples = Int32(count)
        frame.pointer.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&frame.pointer.pointee.ch_layout, Int32(channels))
        try check(av_frame_get_buffer(frame.pointer, 0), "audio frame buffer")
        let n = frame.pointer.pointee.extended_data.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: channels) {
            av_audio_fifo_read(fifo, $0, Int32(count))
        }
        try check(n, "audio buffer read")
        frame.pointer.pointee.nb_samples = n
        return Int(n)
    }

    public func drain(_ count: Int) { av_audio_fifo_drain(fifo, Int32(count)) }

    /// Takes back the newest `count` samples (audio that a later run's audio replaces).
    public func dropLast(_ count: Int) throws {
        let keep = self.count - min(count, self.count)
        guard keep < self.count else { return }
        let held = Frame()
        _ = try read(into: held, count: self.count, sampleRate: 48000)
        av_audio_fifo_reset(fifo)
        try append(held, offset: 0, count: keep)
    }
}
