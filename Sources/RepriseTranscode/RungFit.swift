import RepriseProfiles

/// Whether a source's own video can be a ladder's top rung as it is: same codec, a profile and
/// level the rung allows, the rung's size exactly (upright, square pixels), a frame rate under
/// the rung's cap, 8-bit 4:2:0, an average bitrate under the rung's `max_bitrate`, and keyframes
/// at most 2 × `gop_seconds` apart and on at least half of the grid's IDR times (else most of it
/// would be re-encoded at the edges, a second generation at the source's bitrate). Pure
/// arithmetic on the source's description, so it is tested without media.
public struct RungFit: Equatable, Sendable {
    /// What the check needs to know about the source's video over the range laddered.
    public struct Source: Equatable, Sendable {
        public var codec: String          // "h264", "hevc", …
        public var profile: Int32         // profile_idc (H.264: 66, 77, 100, …)
        public var level: Int32           // level_idc × (H.264: 10, HEVC: 30), ≤ 0 unknown
        public var pixelFormat: String?   // "yuv420p", …
        public var width: Int
        public var height: Int
        public var rotation: Double
        public var squarePixels: Bool
        public var frameRate: Double
        /// Average bits per second of the video over the range.
        public var bitrate: Int
        /// The longest stretch between two keyframes over the range, in seconds.
        public var keyframeInterval: Double
        /// The share of the grid's IDR times (after the first) at which the source has a keyframe:
        /// where it has none, the GOPs around that time are re-encoded.
        public var keyframesOnGrid: Double
        public init(codec: String, profile: Int32, level: Int32, pixelFormat: String?, width: Int, height: Int,
                    rotation: Double, squarePixels: Bool, frameRate: Double, bitrate: Int, keyframeInterval: Double,
                    keyframesOnGrid: Double = 1) {
            self.codec = codec; self.profile = profile; self.level = level; self.pixelFormat = pixelFormat
            self.width = width; self.height = height; self.rotation = rotation; self.squarePixels = squarePixels
            self.frameRate = frameRate; self.bitrate = bitrate; self.keyframeInterval = keyframeInterval
            self.keyframesOnGrid = keyframesOnGrid
        }
    }

    public var fits: Bool
    /// Why it fits, or the first thing that does not.
    public var reason: String

    /// - Parameters:
    ///   - rung: the rung's video settings; `width`×`height` the size the rung is made at.
    ///   - format: the ladder's segment format (the copy path writes fMP4 segments only).
    public static func check(_ s: Source, rung: Profile.Video, width: Int, height: Int, format: Ladder.SegmentFormat,
                             gopSeconds: Double) -> RungFit {
        func no(_ why: String) -> RungFit { RungFit(fits: false, reason: why) }
        guard format == .fmp4 else { return no("the source is copied into fMP4 segments only (the ladder writes ts)") }
        let codec: String = rung.codec == .hevc ? "hevc" : (rung.codec == .h264 ? "h264" : "\(rung.codec)")
        guard s.codec == codec else { return no("the source is \(s.codec), the rung \(codec)") }
        // HEVC edges carry their parameter sets in-band, so a copied HEVC rung would be 'hev1',
        // which Apple's players refuse in HLS; such rungs are encoded (tagged hvc1) instead.
        guard codec == "h264" else { return no("only H.264 sources are copied into a rung (HEVC edges would need 'hev1')") }
        guard s.pixelFormat != "yuvj420p" else { return no("the source is full range; the rungs are limited range") }
        guard s.pixelFormat == "yuv420p" else {
            return no("the source's pixels are \(s.pixelFormat ?? "unknown"), the rung's 8-bit 4:2:0")
        }
        // FFmpeg adds flag bits to H.264's profile_idc (constrained baseline is 66 | 512).
        let profileIDC = codec == "h264" ? s.profile & 0xFF : s.profile
        if let allowed = allowedProfiles(codec: codec, rungProfile: rung.profile), !allowed.contains(profileIDC) {
            return no("the source's profile (profile_idc \(profileIDC)) is not one a \(rung.profile ?? "default") rung allows")
        }
        if let levelText = rung.encoderOptions["level"], let idc = SourceFit.levelIDC(levelText) {
            // level_idc: H.264 10 × level ("4.0" and "40" both say 40); HEVC 30 × level.
            let cap = codec == "hevc" ? Double(idc) * 3 : Double(idc)
            guard s.level > 0, Double(s.level) <= cap + 0.5 else {
                return no("the source's level (\(s.level)) is above the rung's \(levelText)")
            }
        }
        guard Int((s.rotation / 90).rounded()) % 4 == 0 else { return no("the source is rotated for display") }
        guard s.squarePixels else { return no("the source's pixels are not square") }
        guard s.width == width && s.height == height else {
            return no("the source is \(s.width)x\(s.height), the rung \(width)x\(height)")
        }
        if let cap = rung.maxFrameRate, s.frameRate > cap + 0.01 {
            return no(String(format: "the source's %.3g fps is over the rung's %g", s.frameRate, cap))
        }
        let limit = rung.maxBitrate ?? rung.bitrate
        guard let limit, s.bitrate > 0, s.bitrate <= limit else {
            return no("the source's \(s.bitrate / 1000) kb/s is over the rung's \((limit ?? 0) / 1000) kb/s limit")
        }
        guard s.keyframeInterval <= 2 * gopSeconds + 0.01 else {
            return no(String(format: "the source's keyframes are up to %.3g s apart (more than 2 × gop_seconds %g)", s.keyframeInterval, gopSeconds))
        }
        guard s.keyframesOnGrid >= 0.5 else {
            return no(String(format: "only %.0f %% of the %g-s grid's IDR times hold a source keyframe (at least half must)",
                             s.keyframesOnGrid * 100, gopSeconds))
        }
        return RungFit(fits: true, reason: "the source is \(codec) \(s.width)x\(s.height) at \(s.bitrate / 1000) kb/s, within the rung's limits")
    }

    /// profile_idc values a rung of that profile may carry (nil: no constraint known).
    static func allowedProfiles(codec: String, rungProfile: String?) -> Set<Int32>? {
        switch (codec, rungProfile?.lowercased()) {
        case ("h264", "baseline"), ("h264", "constrained_baseline"): return [66]
        case ("h264", "main"): return [66, 77]
        case ("h264", _): return [66, 77, 100]
        case ("hevc", "main10"): return [1, 2]
        case ("hevc", _): return [1]
        default: return nil
        }
    }
}
