import CFFmpeg
import RepriseMedia

/// Brings decoded audio to one rate, sample format and channel count — those a stream declared
/// at its start, which the outputs' graphs were built for — when a later run (after a
/// reconnect) brings others. Frames already in that format pass through untouched.
final class AudioNormalizer {
    let rate: Int32, format: Int32, channels: Int32
    private var resampler: Resampler? = nil
    private var input: (Int32, Int32, Int32)? = nil
    private let out = Frame()
    /// Called once for each new format met.
    var onChange: ((_ rate: Int32, _ channels: Int32) -> Void)?

    init(rate: Int32, format: Int32, channels: Int32) {
        self.rate = rate; self.format = format; self.channels = channels
    }

    /// From a decoder's context as opened (before any frame changed it).
    convenience init(decoder: Decoder) {
        let c = decoder.context.pointee
        self.init(rate: c.sample_rate, format: c.sample_fmt.rawValue, channels: c.ch_layout.nb_channels)
    }

    /// The frame in the stream's first format; nil while the resampler is still filling.
    func normalize(_ frame: Frame) throws -> Frame? {
        let f = frame.pointer.pointee
        let now = (f.sample_rate, f.format, f.ch_layout.nb_channels)
        guard rate > 0, format >= 0, channels > 0, now != (rate, format, channels) else { return frame }
        if input.map({ $0 != now }) ?? true {
            onChange?(f.sample_rate, f.ch_layout.nb_channels)
            var layout = AVChannelLayout()
            av_channel_layout_default(&layout, channels)
            defer { av_channel_layout_uninit(&layout) }
            resampler = try Resampler(inputRate: Int(f.sample_rate), inputFormat: AVSampleFormat(rawValue: f.format),
                                      inputLayout: &frame.pointer.pointee.ch_layout, outputRate: Int(rate),
                                      outputFormat: AVSampleFormat(rawValue: format), outputLayout: &layout)
            input = now
        }
        let capacity = Int(Int64(f.nb_samples) * Int64(rate) / Int64(max(f.sample_rate, 1))) + 256
        guard try resampler!.convert(frame, into: out, capacity: capacity) > 0 else { return nil }
        let result = Frame()
        try result.reference(out)
        result.pointer.pointee.sample_rate = rate
        result.pts = frame.pts
        return result
    }
}
