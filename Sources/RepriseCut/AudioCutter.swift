import CFFmpeg
import RepriseMedia

/// Cuts the audio track to the sample: decodes the source around each range, keeps exactly
/// the samples that play with the range's video, and re-encodes them as one continuous AAC
/// track (AAC frames are 21 ms, far too coarse to cut by copying). The encoder's priming is
/// signalled through its initial padding, which muxers turn into an edit list / skip.
final class AudioCutter {
    let sourceStream: Int
    let sourceTimeBase: TimeBase
    let sampleRate: Int
    let outputStream: Int
    private let decoder: Decoder
    private let encoder: Encoder
    private var resampler: Resampler?
    private var resamplerInput: (Int32, Int32, Int32)?
    private let buffer: AudioBuffer
    private let decoded = Frame()
    private let converted = Frame()
    private let chunk = Frame()
    private let encodedPacket = Packet()
    private var outputSamples: Int64 = 0
    /// The caller's filter chain between the cut samples and the encoder, and who sees its output.
    private var shaping: (graph: FilterGraph, observe: (@Sendable (UnsafeMutablePointer<AVFrame>) -> Void)?)? = nil
    private let shaped = Frame()
    private var encodedSamples: Int64 = 0
    /// The encoder's time base: the packets' clock.
    var encoderTimeBase: TimeBase { encoder.timeBase }

    // The window being filled, in source samples (1/sampleRate on the source clock).
    private var windowStart: Int64 = 0
    private var windowEnd: Int64 = 0
    private var cursor: Int64 = 0
    private(set) var sawAudio = false
    /// Where the decoder's last frame ended, to absorb timestamp rounding.
    private var nextFrameStart: Int64? = nil
    /// One tick of the source time base in samples, plus one: the rounding a timestamp may carry.
    let jitter: Int64
    /// Samples kept unencoded at the buffer's end (85 ms at 48 kHz): how far a run's audio may
    /// overlap the run before it and still replace its tail.
    static let holdBack = 4096
    /// Samples decoded before the window so the first kept samples have their overlap (one AAC frame).
    let preroll: Int64 = 1024
    /// First sample of the source's audio stream: nothing earlier exists to pre-roll from.
    let streamStart: Int64

    init(demuxer: Demuxer, stream: Int, muxer: Muxer, output: CutAudioOutput? = nil) throws {
        sourceStream = stream
        let st = demuxer.stream(stream)
        sourceTimeBase = TimeBase(st.pointee.time_base)
        decoder = try Decoder(parameters: st.pointee.codecpar, timeBase: sourceTimeBase, threads: 1)
        let par = st.pointee.codecpar!.pointee
        sampleRate = Int(par.sample_rate > 0 ? par.sample_rate : 48000)
        let rate = TimeBase(1, Int32(sampleRate))
        jitter = sourceTimeBase.rescaleUp(1, to: rate) + 1
        streamStart = st.pointee.start_time == NOPTS ? 0 : sourceTimeBase.rescale(st.pointee.start_time, to: rate)
        let channels = max(1, min(Int(par.ch_layout.nb_channels), 8))
        if let output {
            // The caller's encoder, behind its filter chain: the buffer holds the cut in planar float.
            var settings = output.encoder
            settings.globalHeader = muxer.needsGlobalHeader
            encoder = try Encoder(audio: settings)
            buffer = try AudioBuffer(format: AV_SAMPLE_FMT_FLTP, channels: channels)
            let format = av_get_sample_fmt_name(encoder.context.pointee.sample_fmt).map { String(cString: $0) } ?? "fltp"
            let input = FilterGraph.AudioInput(sampleRate: sampleRate, sampleFormat: AV_SAMPLE_FMT_FLTP.rawValue,
                                               channels: channels, timeBase: rate)
            let graph = try FilterGraph(audio: input, description: output.filter(format))
            if encoder.frameSize > 0 { graph.setOutputFrameSize(encoder.frameSize) }
            shaping = (graph, output.observe)
        } else {
            var bitRate = par.bit_rate
            if bitRate < 64_000 || bitRate > 320_000 { bitRate = Int64(channels >= 2 ? 160_000 : 96_000) }
            var settings = AudioEncoderSettings(sampleRate: sampleRate, channels: channels, bitRate: bitRate)
            settings.globalHeader = muxer.needsGlobalHeader
            // The default two-loop search costs several times more for no audible gain at these rates.
            settings.options["aac_coder"] = "fast"
            encoder = try Encoder(audio: settings)
            buffer = try AudioBuffer(format: AVSampleFormat(rawValue: encoder.context.pointee.sample_fmt.rawValue), channels: channels)
        }
        let out = try muxer.addStream()
        try encoder.copyParameters(to: out)
        out.pointee.time_base = encoder.timeBase.rational
        if let lang = av_dict_get(st.pointee.metadata, "language", nil, 0) {
            av_dict_set(&out.pointee.metadata, "language", lang.pointee.value, 0)
        }
        outputStream = Int(out.pointee.index)
    }

    /// Starts a range: exactly `count` samples from source sample `start` will be kept.
    func begin(start: Int64, count: Int64) {
        windowStart = start
        windowEnd = start + count
        cursor = start
        nextFrameStart = nil
        decoder.reset()
    }

    /// After a re-seek: the decoder starts afresh; samples already kept stay kept.
    func restartDecoding() { decoder.reset(); nextFrameStart = nil }

    var isComplete: Bool { cursor >= windowEnd }

    /// Source sample position of a packet's start, for deciding whether a seek landed too late.
    func samplePosition(of pts: Int64) -> Int64 { sourceTimeBase.rescale(pts, to: TimeBase(1, Int32(sampleRate))) }

    func feed(_ packet: Packet, write: (Packet) throws -> Void) throws {
        guard !isComplete else { return }
        sawAudio = true
        if packet.pts != NOPTS {
            let start = samplePosition(of: packet.pts)
            // Packets that end well before the window can't contribute; skip decoding them
            // except the last few (the decoder needs a little history for overlap).
            let dur = packet.duration > 0 ? samplePosition(of: packet.pts + packet.duration) - start : 4096
            if start + dur + 8192 < cursor { return }
        }
        if try decoder.send(packet) == .needsMoreInput { try drainDecoder(); _ = try decoder.send(packet) }
        try drainDecoder()
        try encodeAvailable(final: false, write: write)
    }

    private func drainDecoder() throws {
        while try decoder.receive(into: decoded) == .ok {
            try take(decoded)
        }
    }

    private func take(_ frame: Frame) throws {
        let pts = frame.bestEffortTimestamp
        guard pts != NOPTS, frame.sampleCount > 0 else { return }
        var f0 = samplePosition(of: pts)
        // In samples of the output's rate (a later run may have another rate).
        let n = Int64(frame.sampleCount) * Int64(sampleRate) / Int64(max(frame.pointer.pointee.sample_rate, 1))
        // Coarse time bases (FLV's milliseconds) jitter by a few samples: within that, frames are contiguous.
        if let expected = nextFrameStart, abs(f0 - expected) <= jitter { f0 = expected }
        else if let expected = nextFrameStart, f0 < expected, f0 < cursor, cursor > windowStart {
            // Audio went back: a new run (after a reset) starts here, where its video starts.
            // The old run's audio beyond that point is replaced, as far as it is still unencoded.
            let overlap = Int(min(cursor - max(f0, windowStart), Int64(buffer.count)))
            if overlap > 0 { try buffer.dropLast(overlap); cursor -= Int64(overlap) }
        }
        nextFrameStart = f0 + n
        guard f0 + n > cursor, cursor < windowEnd else { return }
        // AAC decodes to the encoder's planar float: no conversion, no copy. Anything else goes through swresample.
        var source = frame
        var got = frame.sampleCount
        let f = frame.pointer.pointee
        if f.format != buffer.format.rawValue || Int(f.ch_layout.nb_channels) != buffer.channels || Int(f.sample_rate) != sampleRate {
            // A run after a reconnect may bring another rate or layout: the resampler follows it.
            let input = (f.sample_rate, f.format, f.ch_layout.nb_channels)
            if resampler == nil || resamplerInput.map({ $0 != input }) ?? true {
                resamplerInput = input
                var outLayout = AVChannelLayout()
                av_channel_layout_default(&outLayout, Int32(buffer.channels))
                defer { av_channel_layout_uninit(&outLayout) }
                resampler = try Resampler(inputRate: Int(frame.pointer.pointee.sample_rate),
                                          inputFormat: AVSampleFormat(rawValue: frame.pointer.pointee.format),
                                          inputLayout: &frame.pointer.pointee.ch_layout,
                                          outputRate: sampleRate, outputFormat: buffer.format,
                                          outputLayout: &outLayout)
            }
            got = try resampler!.convert(frame, into: converted,
                                         capacity: frame.sampleCount * sampleRate / max(Int(f.sample_rate), 1) + 256)
            source = converted
        }
        if f0 > cursor { try buffer.appendSilence(Int(min(f0, windowEnd) - cursor)); cursor = min(f0, windowEnd) }
        let from = max(f0, cursor), to = min(f0 + Int64(got), windowEnd)
        if to > from {
            try buffer.append(source, offset: Int(from - f0), count: Int(to - from))
            cursor = to
        }
    }

    /// Ends the current range: silence for whatever the source did not have.
    func finishRange(write: (Packet) throws -> Void) throws {
        if !isComplete {
            _ = try? decoder.send(nil)
            try drainDecoder()
        }
        if cursor < windowEnd { try buffer.appendSilence(Int(windowEnd - cursor)); cursor = windowEnd }
        try encodeAvailable(final: false, write: write)
    }

    func encodeAvailable(final: Bool, write: (Packet) throws -> Void) throws {
        let size = encoder.frameSize > 0 && shaping == nil ? encoder.frameSize : 1024
        // The newest samples wait unencoded: a later run's audio (after a reset) may replace them.
        while buffer.count >= size + AudioCutter.holdBack || (final && buffer.count > 0) {
            let n = try buffer.read(into: chunk, count: min(size, buffer.count), sampleRate: sampleRate)
            chunk.pts = outputSamples
            outputSamples += Int64(n)
            try encode(chunk, write: write)
        }
        if final { try encode(nil, write: write) }
    }

    private func encode(_ frame: Frame?, write: (Packet) throws -> Void) throws {
        if let (graph, observe) = shaping {
            // Samples timed from the output's start go through the chain; what comes out is encoded.
            try graph.send(frame)
            while try graph.receive(into: shaped) == .ok {
                observe?(shaped.pointer)
                shaped.pts = encodedSamples
                encodedSamples += Int64(shaped.sampleCount)
                try encodeNow(shaped, write: write)
            }
            if frame == nil { try encodeNow(nil, write: write) }
            return
        }
        try encodeNow(frame, write: write)
    }

    private func encodeNow(_ frame: Frame?, write: (Packet) throws -> Void) throws {
        try encoder.encode(frame, into: encodedPacket) { packet in
            packet.pointer.pointee.stream_index = Int32(outputStream)
            try write(packet)
        }
    }
}
