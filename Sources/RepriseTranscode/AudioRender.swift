import CFFmpeg
import Foundation
import RepriseProfiles

/// EBU R128 loudness of a stretch of audio, as libavfilter's `ebur128` reports it.
public struct Loudness: Equatable, Sendable, Codable {
    /// Integrated loudness, LUFS.
    public var integrated: Double
    /// Loudness range, LU.
    public var range: Double
    /// True peak, dBTP.
    public var truePeak: Double

    /// Below this the audio is silence for our purposes (ebur128's absolute gate is −70).
    public var isSilent: Bool { integrated <= -69.5 || !integrated.isFinite }
}

/// The audio chain of one output: range trim, channel layout, loudness normalisation, output
/// rate and format, exact length, and a meter on what is encoded.
public struct AudioRender: Equatable, Sendable {
    public var filter: String
    /// How loudness was treated ("linear", "dynamic"), nil when the profile sets no target.
    public var loudnessMode: String?
    public var notes: [String]

    /// libavfilter's name for the default layout of `channels` ("mono", "stereo", "5.1"…).
    public static func layoutName(channels: Int) -> String {
        var layout = AVChannelLayout()
        av_channel_layout_default(&layout, Int32(channels))
        defer { av_channel_layout_uninit(&layout) }
        var name = [CChar](repeating: 0, count: 64)
        av_channel_layout_describe(&layout, &name, name.count)
        return String(cString: name)
    }

    static func seconds(_ x: Double) -> String { String(format: "%.6f", x) }

    /// Frames timed from 0 (the range start) in, the range's [0, duration) out, gaps filled, in
    /// the output's channel layout: what both the loudness pre-pass and the output hear.
    public static func leadIn(duration: Double, channels: Int) -> String {
        "atrim=start=0:end=\(seconds(duration)),aresample=async=1:first_pts=0,aformat=channel_layouts=\(layoutName(channels: channels))"
    }

    /// The meter that reads loudness from the frames passing through (see `LoudnessReading`).
    public static let meter = "ebur128=peak=true:metadata=1"

    /// - Parameters:
    ///   - duration: seconds of audio wanted (the video's duration).
    ///   - measured: the loudness of `leadIn` on the source, when the profile sets a target.
    ///   - sampleFormat: the encoder's sample format name ("fltp", "flt", "s16").
    ///   - metered: whether the chain carries the `ebur128` meter (its true peak costs about as
    ///     much as decoding the audio; a copied video's output skips it when nothing reads it).
    public static func plan(audio a: Profile.Audio, duration: Double, measured: Loudness?, sampleFormat: String,
                            metered: Bool = true) -> AudioRender {
        let layout = layoutName(channels: a.channels)
        var parts = [leadIn(duration: duration, channels: a.channels)]
        var notes: [String] = []
        var mode: String? = nil
        if let target = a.loudness {
            if let m = measured, !m.isSilent {
                // loudnorm stays linear (one gain for the whole file, no pumping) only when that
                // gain keeps the true peak under the ceiling and the range fits its target range;
                // it reads a measured range of exactly 0 (a steady tone) as "not measured".
                let gain = target - m.integrated
                let targetRange = min(20, max(7, (m.range + 1).rounded(.up)))
                let linear = m.truePeak + gain <= a.truePeak && m.range <= targetRange
                mode = linear ? "linear" : "dynamic"
                if !linear {
                    notes.append(String(format: "loudness: a linear gain of %+.1f dB would put the true peak at %.1f dBTP, over the %.1f ceiling: dynamic normalisation",
                                        gain, m.truePeak + gain, a.truePeak))
                }
                parts.append(String(format: "loudnorm=I=%.1f:TP=%.1f:LRA=%.1f:measured_I=%.2f:measured_TP=%.2f:measured_LRA=%.2f:measured_thresh=%.2f:linear=true:print_format=none",
                                    target, a.truePeak, targetRange, m.integrated, m.truePeak, max(m.range, 0.1), m.integrated - 10))
            } else {
                mode = "none (silent)"
                notes.append("loudness: the audio is silent, left as it is")
            }
        }
        let samples = Int64((duration * Double(a.sampleRate)).rounded())
        parts.append("aresample=\(a.sampleRate)")
        parts.append("aformat=sample_fmts=dbl:sample_rates=\(a.sampleRate):channel_layouts=\(layout)")
        parts.append("apad=whole_len=\(samples),atrim=end_sample=\(samples)")
        if metered { parts.append(meter) }
        parts.append("aformat=sample_fmts=\(sampleFormat):sample_rates=\(a.sampleRate):channel_layouts=\(layout)")
        return AudioRender(filter: parts.joined(separator: ","), loudnessMode: mode, notes: notes)
    }
}

/// Follows `ebur128`'s frame metadata (metadata=1): integrated loudness, range, true peaks
/// (linear) so far. The last frame's values describe everything that passed.
public struct LoudnessReading: Sendable {
    public private(set) var integrated: Double = -70
    public private(set) var range: Double = 0
    public private(set) var peak: Double = 0
    public private(set) var frames = 0

    public init() {}

    public mutating func read(_ frame: UnsafeMutablePointer<AVFrame>) {
        guard let metadata = frame.pointee.metadata else { return }
        func value(_ key: String) -> Double? {
            av_dict_get(metadata, key, nil, 0).flatMap { Double(String(cString: $0.pointee.value)) }
        }
        frames += 1
        if let i = value("lavfi.r128.I") { integrated = i }
        if let r = value("lavfi.r128.LRA") { range = r }
        if let p = value("lavfi.r128.true_peak") { peak = max(peak, p) }
    }

    public var loudness: Loudness {
        Loudness(integrated: integrated, range: range, truePeak: peak > 0 ? 20 * log10(peak) : -144)
    }
}
