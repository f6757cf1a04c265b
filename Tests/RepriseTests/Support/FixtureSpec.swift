import Foundation

/// Describes one test recording. Every frame shows its index as a barcode; the audio beeps at
/// every whole second. Two equal specs make the same file (made once per run, see `Fixtures`).
struct FixtureSpec: Hashable, Sendable, CustomStringConvertible {
    enum VideoCodec: String, Sendable {
        /// libx264, 3 B-frames, closed GOPs of `gop` frames.
        case h264BFrames = "h264bf"
        /// libx264 without B-frames.
        case h264NoBFrames = "h264nobf"
        /// libx265 defaults (open GOP: CRA keyframes with leading pictures), keyint `gop`.
        case hevcOpenGOP = "hevc"
        /// libx265 as above, 10-bit 4:2:0 (Main 10).
        case hevc10Bit = "hevc10"
        /// MPEG-4 Part 2: a codec the cutter can't match, so smart falls back to exact.
        case mpeg4 = "mpeg4"
    }

    enum Container: String, Sendable {
        case mp4, mkv, ts, flv
        var fileExtension: String { rawValue }
        var ffmpegFormat: String {
            switch self {
            case .mp4: "mp4"
            case .mkv: "matroska"
            case .ts: "mpegts"
            case .flv: "flv"
            }
        }
    }

    /// Frame times: constant rate, or a rate that changes half-way (see `frameTimes`).
    enum Timing: String, Sendable {
        case constant = "cfr"
        /// `seconds` split in three equal thirds: `fps`, then `fps / 2`, then `fps` again.
        case variable = "vfr"
    }

    /// What each frame shows (see `Barcode` and `BandsCode`).
    enum Layout: String, Sendable {
        /// The 8 × 6 cell grid of `Barcode` (24 bits), with a moving margin pattern.
        case grid
        /// Full-width bit bands over a strip with a moving square and a mid-point scene cut
        /// (`BandsCode`): readable after crops, pads and rescaling.
        case bands
    }

    var codec: VideoCodec = .h264BFrames
    var container: Container = .mp4
    var seconds: Int = 10
    var fps: Int = 30
    var gop: Int = 30
    var width: Int = 320
    var height: Int = 240
    var timing: Timing = .constant
    /// Added to every timestamp (ffmpeg `-output_ts_offset`).
    var startOffset: Double = 0
    /// Display rotation in the MP4 track header, in the display-matrix convention: degrees
    /// counterclockwise, as `av_display_rotation_get` and ffprobe report it. (Written through
    /// FFmpeg 5.1's `rotate` tag on a stream copy, which in 5.1 takes that same convention:
    /// `rotate=90` gives a picture that players turn 90° counterclockwise, ffprobe "rotation": 90.)
    var rotation: Int = 0
    var layout: Layout = .grid
    /// `.bands` only: fresh random noise on every frame's bottom third (expensive to encode).
    var noise: Bool = false
    /// A continuous pink-noise bed (about −30 dBFS RMS) under the beeps (`AudioBed`).
    var audioBed: Bool = false

    var description: String {
        var name = "\(codec.rawValue)-\(seconds)s-\(fps)fps-g\(gop)-\(width)x\(height)-\(timing.rawValue)"
        if startOffset != 0 { name += "-start\(startOffset)" }
        if rotation != 0 { name += "-rot\(rotation)" }
        if layout != .grid { name += "-\(layout.rawValue)" }
        if noise { name += "-noise" }
        if audioBed { name += "-bed" }
        return name + "." + container.fileExtension
    }

    /// Presentation times of the frames, in seconds from the recording's start.
    /// These are what the fixture is made with; tests read times back with ffprobe instead.
    var frameTimes: [Double] {
        switch timing {
        case .constant:
            return (0..<(seconds * fps)).map { Double($0) / Double(fps) }
        case .variable:
            precondition(seconds % 3 == 0 && fps % 2 == 0, "VFR fixtures need seconds % 3 == 0, even fps")
            let third = Double(seconds / 3)
            let a = (0..<(seconds / 3 * fps)).map { Double($0) / Double(fps) }
            let b = (0..<(seconds / 3 * fps / 2)).map { third + Double($0) * 2 / Double(fps) }
            let c = (0..<(seconds / 3 * fps)).map { 2 * third + Double($0) / Double(fps) }
            return a + b + c
        }
    }

    var frameCount: Int { frameTimes.count }
}

extension FixtureSpec {
    /// H.264 High with 3 B-frames, GOP 30, 30 fps, 10 s, MP4: the workhorse.
    static let h264MP4 = FixtureSpec()
    /// H.264 without B-frames in FLV at 25 fps (FLV times are whole milliseconds).
    static let h264FLV = FixtureSpec(codec: .h264NoBFrames, container: .flv, seconds: 8, fps: 25, gop: 25)
    /// H.264 with B-frames in MPEG-TS whose 33-bit PTS wraps about 2.3 s into the file.
    static let h264TSWrap = FixtureSpec(container: .ts, seconds: 8, startOffset: 95_440)
    /// H.264 in Matroska whose timestamps start at 1000 s.
    static let h264MKVOffset = FixtureSpec(container: .mkv, seconds: 8, startOffset: 1_000)
    /// H.264 in MP4 whose timestamps start at 1000 s.
    static let h264MP4Offset = FixtureSpec(seconds: 8, startOffset: 1_000)
    /// H.264 in MP4 with a 90° display rotation.
    static let h264MP4Rotated = FixtureSpec(seconds: 6, rotation: 90)
    /// H.264 in MP4 with variable frame rate: 30 fps, then 15 fps, then 30 fps (3 s each).
    static let h264MP4VFR = FixtureSpec(seconds: 9, timing: .variable)
    /// HEVC with x265's default open GOP, keyint 30, MP4.
    static let hevcMP4 = FixtureSpec(codec: .hevcOpenGOP, seconds: 8)
    /// 10-bit HEVC (Main 10), open GOP, MP4.
    static let hevc10MP4 = FixtureSpec(codec: .hevc10Bit, seconds: 6)
    static let mpeg4MP4 = FixtureSpec(codec: .mpeg4, seconds: 6)
}
