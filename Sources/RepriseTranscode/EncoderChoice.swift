import CFFmpeg
import RepriseProfiles

/// The encoder a profile asks for and the options it is opened with. Every option key is both an
/// `avcodec_open2` option and an ffmpeg command-line option (`-KEY:v VALUE`), so the benchmark can
/// give the ffmpeg program exactly the same settings.
public struct EncoderChoice: Equatable, Sendable {
    public var encoder: String
    public var options: [String: String]
    public var notes: [String] = []

    public static func isAvailable(_ name: String) -> Bool { avcodec_find_encoder_by_name(name) != nil }

    /// - Parameter frameRate: output frames per second (for the keyframe interval).
    /// - Parameter fixedGOP: keyframes only on the GOP grid (ladders): no scene-cut keyframes,
    ///   closed GOPs, forced pictures made IDR.
    public static func video(_ v: Profile.Video, frameRate: Double, fixedGOP: Bool = false) throws -> EncoderChoice {
        let candidates: [String]
        switch v.codec {
        case .h264: candidates = ["libx264"]
        case .hevc: candidates = ["libx265"]
        case .av1: candidates = ["libsvtav1", "libaom-av1", "librav1e"]
        }
        guard let encoder = candidates.first(where: isAvailable) else {
            throw TranscodeError("no \(v.codec.rawValue) encoder in this FFmpeg build (looked for \(candidates.joined(separator: ", ")))")
        }
        var o = v.encoderOptions
        if let q = v.quality {
            let key = encoder == "librav1e" ? "qp" : "crf"
            o[key] = o[key] ?? EncoderChoice.number(q)
        }
        if let b = v.bitrate { o["b"] = o["b"] ?? String(b) }
        if let m = v.maxBitrate { o["maxrate"] = o["maxrate"] ?? String(m) }
        // A max rate needs a buffer to mean anything; default to two seconds' worth.
        if let b = v.bufferSize ?? v.maxBitrate.map({ $0 * 2 }) { o["bufsize"] = o["bufsize"] ?? String(b) }
        let gop = max(1, Int((v.gopSeconds * frameRate).rounded()))
        o["g"] = o["g"] ?? String(gop)
        if let p = v.profile { o["profile"] = o["profile"] ?? p }
        if fixedGOP {
            o["keyint_min"] = o["keyint_min"] ?? String(gop)
            o["sc_threshold"] = o["sc_threshold"] ?? "0"
            if encoder == "libx264" || encoder == "libx265" { o["forced-idr"] = o["forced-idr"] ?? "1" }
        }
        // x265 prints its settings banner on stderr unless told not to; our errors are one line.
        // Its GOPs are open by default: a ladder's segments must each start decodable.
        if encoder == "libx265" && o["x265-params"] == nil {
            o["x265-params"] = fixedGOP ? "log-level=error:open-gop=0:scenecut=0:min-keyint=\(gop)" : "log-level=error"
        }
        return EncoderChoice(encoder: encoder, options: o)
    }

    /// HE-AAC (v1: SBR; v2: SBR + parametric stereo) only from an encoder that really makes it:
    /// FFmpeg's own `aac` encoder makes AAC-LC (and Main, LTP) but has no SBR, so without
    /// libfdk_aac an HE-AAC profile is refused rather than served LC under an HE label.
    public static func audio(_ a: Profile.Audio) throws -> EncoderChoice {
        let encoder: String
        switch a.codec {
        case .aac: encoder = "aac"
        case .opus: encoder = "libopus"
        case .heAAC, .heAACv2:
            let v2 = a.codec == .heAACv2
            guard isAvailable("libfdk_aac") else {
                throw TranscodeError("audio codec \(a.codec.rawValue) needs libfdk_aac, which this FFmpeg build lacks "
                    + "(its own aac encoder makes AAC-LC only, no SBR); use codec: aac, or an FFmpeg built with libfdk_aac")
            }
            if v2 && a.channels != 2 {
                throw TranscodeError("audio codec he-aac-v2 (parametric stereo) needs channels: 2, not \(a.channels)")
            }
            return EncoderChoice(encoder: "libfdk_aac", options: ["b": String(a.bitrate), "profile": v2 ? "aac_he_v2" : "aac_he"])
        }
        guard isAvailable(encoder) else { throw TranscodeError("encoder \(encoder) is not available in this FFmpeg build") }
        return EncoderChoice(encoder: encoder, options: ["b": String(a.bitrate)])
    }

    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}

/// A transcode failure that is not about one file's content (a missing encoder, a bad request).
public struct TranscodeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
