/// An output shape a channel needs: size and fit, codecs, rates, loudness, duration limits.
/// Read from YAML (see Profiles/README.md); every field is validated when loaded.
public struct Profile: Equatable, Sendable {
    public enum Fit: String, CaseIterable, Sendable {
        /// Centre crop to the target aspect.
        case crop
        /// Letterbox / pillarbox with black bars.
        case pad
        /// The whole frame over a blurred, scaled copy of itself.
        case blurPad = "blur-pad"
        /// A crop window that follows the most salient region, smoothly, resetting at scene cuts.
        case follow
    }

    public enum Size: String, CaseIterable, Sendable { case atMost = "at-most", exact }
    public enum HDR: String, CaseIterable, Sendable { case tonemap, keep }

    public enum VideoCodec: String, CaseIterable, Sendable { case h264, hevc, av1 }
    public enum AudioCodec: String, CaseIterable, Sendable { case aac, heAAC = "he-aac", heAACv2 = "he-aac-v2", opus }
    public enum Container: String, CaseIterable, Sendable { case mp4, mkv, ts }
    /// `auto`: copy the source's video when it already fits the profile; `never`: always re-encode.
    public enum Reuse: String, CaseIterable, Sendable { case auto, never }

    public struct Video: Equatable, Sendable {
        public var codec: VideoCodec = .h264
        /// Encoder profile, e.g. "high", "main".
        public var profile: String?
        public var width: Int
        public var height: Int
        public var fit: Fit = .pad
        /// Frames per second at most (lower source rates are kept).
        public var maxFrameRate: Double?
        /// Constant-quality target (CRF); with `maxBitrate` it is capped.
        public var quality: Double?
        /// Average bitrate in bits/s, when a rate rather than a quality is targeted.
        public var bitrate: Int?
        public var maxBitrate: Int?
        public var bufferSize: Int?
        /// Keyframe interval in seconds.
        public var gopSeconds: Double = 2
        /// Whether a smaller source may be scaled up to the target size.
        public var upscale: Bool = false
        /// Passed to the encoder as is (e.g. preset, tune, x264-params).
        public var encoderOptions: [String: String] = [:]

        // Deliverable size and colour.
        /// `exact`: the output is always width×height (scaled up with lanczos when the source is
        /// smaller); `at-most` (default): never bigger than the source shows it.
        public var size: Size = .atMost
        /// Bits per component of the output: 8, or 10 (HEVC and AV1 only).
        public var bitDepth: Int = 8
        /// What a PQ or HLG source becomes: SDR BT.709 (`tonemap`, default) or itself (`keep`, 10-bit only).
        public var hdr: HDR = .tonemap

        public init(width: Int, height: Int) { self.width = width; self.height = height }
    }

    public struct Audio: Equatable, Sendable {
        public var codec: AudioCodec = .aac
        public var sampleRate: Int = 48000
        public var channels: Int = 2
        public var bitrate: Int = 128_000
        /// Integrated loudness target in LUFS (EBU R128), nil to leave loudness alone.
        public var loudness: Double?
        /// True-peak ceiling in dBTP.
        public var truePeak: Double = -1

        public init() {}
    }

    public var name: String
    public var description: String
    public var container: Container = .mp4
    public var video: Video
    public var audio: Audio
    public var minDuration: Double?
    public var maxDuration: Double?
    public var chapters: Bool = false
    /// Whether a source whose video already fits is copied (smart cut) instead of re-encoded.
    public var reuse: Reuse = .never
    /// Where it was read from.
    public var source: String

    public init(name: String, description: String, video: Video, audio: Audio, source: String) {
        self.name = name; self.description = description; self.video = video; self.audio = audio; self.source = source
    }
}
