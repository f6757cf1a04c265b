import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles

/// Which way an output's video was made, and why: "copied" (the source's own frames, cut
/// frame-exactly with re-encoded edges) or "re-encoded".
public struct VideoPath: Encodable, Sendable, Equatable {
    public enum Kind: String, Encodable, Sendable { case copied, reencoded = "re-encoded" }
    public var path: Kind
    public var reason: String
}

/// Does the source's video already fit a profile, so that copying it gives what a re-encode
/// would (codec, profile and level, size, frame rate, bitrate, keyframe spacing, orientation,
/// pixel format)? Pure: decided from facts read off the stream and its packet index. Kept apart
/// from the transcode so the ladder's top rung can ask the same question.
public enum SourceFit {
    /// What the check needs to know about the source's video over the range.
    public struct Facts: Sendable {
        /// FFmpeg's codec name ("h264", "hevc").
        public var codec: String
        /// FFmpeg's profile number (`AVCodecParameters.profile`) and name ("High"), when known.
        public var profile: Int32
        public var profileName: String?
        /// `level_idc` (H.264: 31 for 3.1; HEVC: 30 × level), ≤ 0 when unknown.
        public var level: Int32
        public var width: Int
        public var height: Int
        public var sampleAspectRatio: AVRational
        public var pixelFormat: String?
        /// Frames per second (average), 0 when unknown.
        public var frameRate: Double
        /// Bits per second over the range.
        public var bitRate: Double
        /// Longest stretch between clean keyframes over the range, seconds.
        public var keyframeInterval: Double
        /// Display rotation, degrees.
        public var rotation: Double
        /// The source's colour, when the container says (a copy keeps it as it is).
        public var colour: ColourProperties? = nil

        public init(codec: String, profile: Int32, profileName: String?, level: Int32, width: Int, height: Int,
                    sampleAspectRatio: AVRational = AVRational(num: 1, den: 1), pixelFormat: String?, frameRate: Double,
                    bitRate: Double, keyframeInterval: Double, rotation: Double) {
            self.codec = codec; self.profile = profile; self.profileName = profileName; self.level = level
            self.width = width; self.height = height; self.sampleAspectRatio = sampleAspectRatio
            self.pixelFormat = pixelFormat; self.frameRate = frameRate; self.bitRate = bitRate
            self.keyframeInterval = keyframeInterval; self.rotation = rotation
        }

        /// Read from the stream and the packet index, over presentation times `[first, end)`.
        public init(info: StreamInfo, index: PacketIndex, first: Int64, end: Int64) {
            let base = index.timeBase
            var bytes: Int64 = 0
            var keyframes: [Int64] = []
            for p in index.packets {
                if p.pts >= first && p.pts < end { bytes += Int64(p.size) }
                if p.isCopyStart { keyframes.append(p.pts) }
            }
            keyframes.sort()
            // The widest gap between clean keyframes that touches the range (the last one runs to the range's end).
            var widest: Int64 = 0
            for (n, k) in keyframes.enumerated() {
                let next = n + 1 < keyframes.count ? keyframes[n + 1] : max(end, k)
                if next > first && k < end { widest = max(widest, next - k) }
            }
            if keyframes.isEmpty { widest = end - first }
            let seconds = base.seconds(end - first)
            let rate = info.averageFrameRate.num > 0 && info.averageFrameRate.den > 0 ? info.averageFrameRate : info.realFrameRate
            self.init(codec: info.codecName, profile: info.profile, profileName: info.profileName, level: info.level,
                      width: info.width, height: info.height, pixelFormat: info.pixelFormatName,
                      frameRate: rate.den > 0 && rate.num > 0 ? Double(rate.num) / Double(rate.den) : 0,
                      bitRate: seconds > 0 ? Double(bytes * 8) / seconds : 0,
                      keyframeInterval: base.seconds(widest), rotation: info.rotation)
            colour = info.colour
        }

        /// "h264 high 1280x720 30fps 2.1 Mb/s".
        public var summary: String {
            "\(codec)\(profileName.map { " " + $0.lowercased() } ?? "") \(width)x\(height) \(SourceFit.number(frameRate))fps \(SourceFit.megabits(bitRate))"
        }
    }

    /// The path an output takes: copied when the profile allows reuse and the source fits;
    /// otherwise re-encoded, with the first reason it does not fit.
    public static func decide(profile: Profile, facts: Facts, outputSize: (width: Int, height: Int)? = nil) -> VideoPath {
        guard profile.reuse == .auto else {
            return VideoPath(path: .reencoded, reason: "\(profile.name) does not reuse the source (reuse: never)")
        }
        if let misfit = misfit(profile: profile, facts: facts, outputSize: outputSize) {
            return VideoPath(path: .reencoded, reason: misfit)
        }
        return VideoPath(path: .copied, reason: "source \(facts.summary) fits \(profile.name)")
    }

    /// Why the source does not fit, or nil when it does.
    /// - Parameter outputSize: the size a re-encode would deliver (default: the profile's, after
    ///   the no-upscale rule, from the upright source size).
    public static func misfit(profile: Profile, facts f: Facts, outputSize: (width: Int, height: Int)? = nil) -> String? {
        let v = profile.video
        guard f.codec == v.codec.rawValue else { return "source codec \(f.codec), \(profile.name) writes \(v.codec.rawValue)" }
        if let wanted = v.profile {
            guard let rank = profileRank(codec: f.codec, profile: f.profile), let cap = profileRank(codec: f.codec, name: wanted),
                  rank <= cap else {
                return "source profile \(f.profileName ?? "unknown") is not within \(profile.name)'s \(wanted)"
            }
        }
        if let level = v.encoderOptions["level"].flatMap(levelIDC(_:)), f.level > level {
            return "source level \(Double(f.level) / 10) over \(profile.name)'s level \(v.encoderOptions["level"]!)"
        }
        let quarter = ((Int((f.rotation / 90).rounded()) % 4) + 4) % 4
        if quarter != 0 { return "source is shown rotated \(quarter * 90)°: \(profile.name) turns it upright" }
        if f.pixelFormat == "yuvj420p" || f.colour?.range == ColourProperties.rangeFull {
            return "source is full range: \(profile.name) writes limited range"
        }
        guard f.pixelFormat == "yuv420p" else {
            return "source pixel format \(f.pixelFormat ?? "unknown"), \(profile.name) writes 8-bit 4:2:0 (yuv420p)"
        }
        if v.bitDepth != 8 { return "source is 8-bit, \(profile.name) writes \(v.bitDepth)-bit" }
        if let hdr = f.colour?.hdrName, profile.video.hdr != .keep {
            return "source is HDR (\(hdr)): \(profile.name) tone-maps it to SDR BT.709"
        }
        let sar = f.sampleAspectRatio
        if sar.num > 0 && sar.den > 0 && sar.num != sar.den {
            return "source pixels are not square (\(sar.num):\(sar.den)): \(profile.name) scales them"
        }
        let planned = RenderPlanner.outputSize(source: (f.width, f.height), video: v)
        let size = outputSize ?? (planned.width, planned.height)
        if size.width != f.width || size.height != f.height {
            return "source size \(f.width)x\(f.height), \(profile.name) delivers \(size.width)x\(size.height)"
        }
        if let cap = v.maxFrameRate, f.frameRate > cap + 0.01 {
            return "source frame rate \(number(f.frameRate)) fps over max_fps \(number(cap))"
        }
        if let cap = v.maxBitrate ?? v.bitrate, f.bitRate > Double(cap) {
            return "source bitrate \(megabits(f.bitRate)) over \(v.maxBitrate != nil ? "max_bitrate" : "bitrate") \(rateText(cap))"
        }
        if f.keyframeInterval > 2 * v.gopSeconds + 1e-3 {
            return String(format: "source keyframes up to %.2f s apart, over 2 × gop_seconds (%@ s)", f.keyframeInterval, number(2 * v.gopSeconds))
        }
        return nil
    }

    /// Order of H.264 / HEVC profiles by what a decoder of the larger one also decodes.
    static func profileRank(codec: String, profile: Int32) -> Int? {
        switch (codec, profile) {
        case ("h264", 66), ("h264", 578): return 0   // (constrained) baseline
        case ("h264", 77): return 1                   // main
        case ("h264", 100): return 2                  // high
        case ("h264", 110): return 3                  // high 10
        case ("h264", 122): return 4                  // high 4:2:2
        case ("h264", 244): return 5                  // high 4:4:4
        case ("hevc", 1): return 0                    // main
        case ("hevc", 2): return 1                    // main 10
        default: return nil
        }
    }

    static func profileRank(codec: String, name: String) -> Int? {
        let key = name.lowercased().replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "-", with: "")
        let h264: [String: Int32] = ["baseline": 66, "constrainedbaseline": 578, "main": 77, "high": 100, "high10": 110,
                                     "high422": 122, "high444": 244, "high444p": 244]
        let hevc: [String: Int32] = ["main": 1, "main10": 2]
        guard let number = (codec == "hevc" ? hevc : h264)[key] else { return nil }
        return profileRank(codec: codec, profile: number)
    }

    /// "3.1" or "31" → 31.
    static func levelIDC(_ text: String) -> Int32? {
        guard let x = Double(text) else { return nil }
        return Int32((x < 10 ? x * 10 : x).rounded())
    }

    static func number(_ x: Double) -> String {
        abs(x - x.rounded()) < 0.005 ? String(Int(x.rounded())) : String(format: "%.2f", x)
    }

    /// "2.1 Mb/s", "850 kb/s".
    static func megabits(_ bits: Double) -> String {
        bits >= 1_000_000 ? String(format: "%.1f Mb/s", bits / 1_000_000) : String(format: "%.0f kb/s", bits / 1000)
    }

    /// As a profile writes it: "5M", "900k".
    static func rateText(_ bits: Int) -> String {
        if bits % 1_000_000 == 0 { return "\(bits / 1_000_000)M" }
        if bits % 1000 == 0 { return "\(bits / 1000)k" }
        return String(bits)
    }
}
