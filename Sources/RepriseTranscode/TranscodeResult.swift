import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

public struct TranscodeResult: Encodable, Sendable {
    public var input: String
    /// The range transcoded, seconds of the recording.
    public var from: Double
    public var to: Double
    /// Source frames read in the range.
    public var frames: Int
    public var outputs: [OutputReport]
    /// Wall-clock seconds.
    public var seconds: Double
}

/// What one output turned out to be, read from what was written (not from what was asked).
public struct OutputReport: Encodable, Sendable {
    public struct LoudnessReport: Encodable, Sendable {
        public var target: Double
        public var truePeakCeiling: Double
        /// The source range in the output's channel layout, before normalisation.
        public var input: Double
        public var inputTruePeak: Double
        /// What was encoded (ebur128 on the output chain).
        public var output: Double
        public var outputTruePeak: Double
        public var mode: String
    }

    public var profile: String
    public var output: String
    public var container: String
    public var width: Int
    public var height: Int
    public var frameRate: Double
    public var frames: Int
    public var duration: Double
    /// Bytes.
    public var size: Int
    /// Bits per second over the whole file.
    public var bitrate: Double
    public var videoCodec: String
    public var videoEncoder: String
    public var videoOptions: [String: String]
    public var videoFilter: String
    public var audioCodec: String?
    public var audioEncoder: String?
    public var audioOptions: [String: String]
    public var audioFilter: String?
    public var sampleRate: Int?
    public var channels: Int?
    public var loudness: LoudnessReport?
    /// Whether the video was copied from the source or re-encoded, and why.
    public var video: VideoPath
    public var notes: [String]
    /// The colour written (null for an output without video).
    public var colour: ColourReport?

    init(pipeline p: OutputPipeline, measuredInput: Loudness?, video path: VideoPath) {
        video = path
        profile = p.profile.name
        output = p.path
        container = p.profile.container.rawValue
        width = p.render.width
        height = p.render.height
        frameRate = p.outputFrameRate.doubleValue
        frames = p.framesOut
        duration = Double(p.framesOut) / max(frameRate, 1e-9)
        if p.render.frameRateCap == nil { duration = p.sourceTimeBase.seconds(p.videoEnd) }
        size = ((try? FileManager.default.attributesOfItem(atPath: p.path)[.size]) as? NSNumber)?.intValue ?? 0
        bitrate = duration > 0 ? Double(size) * 8 / duration : 0
        videoCodec = p.videoChoice.map { codecName(encoder: $0.encoder) } ?? "none"
        videoEncoder = p.videoChoice?.encoder ?? "none"
        videoOptions = p.videoChoice?.options ?? [:]
        videoFilter = p.render.filter
        if let choice = p.audioChoice {
            audioCodec = codecName(encoder: choice.encoder)
            audioEncoder = choice.encoder
            audioOptions = choice.options
            audioFilter = p.audioRender?.filter
            sampleRate = p.profile.audio.sampleRate
            channels = p.profile.audio.channels
        } else {
            audioOptions = [:]
        }
        if let target = p.profile.audio.loudness, p.audioChoice != nil {
            let out = p.meter.loudness
            loudness = LoudnessReport(target: target, truePeakCeiling: p.profile.audio.truePeak,
                                      input: measuredInput?.integrated ?? -70, inputTruePeak: measuredInput?.truePeak ?? -144,
                                      output: out.integrated, outputTruePeak: out.truePeak, mode: p.audioRender?.loudnessMode ?? "none")
        }
        notes = p.notes
        colour = p.videoChoice == nil ? nil : p.render.colour.map(ColourReport.init)
    }

    /// An output whose video was copied from the source (see `SourceCopy`).
    init(copy cut: CutResult, job: SourceCopy.Job, audioChoice: EncoderChoice?, audioRender: AudioRender,
         output: Loudness?, notes: [String]) {
        let p = job.profile
        profile = p.name
        self.output = job.output
        container = p.container.rawValue
        width = job.facts.width
        height = job.facts.height
        frameRate = job.facts.frameRate
        frames = cut.frames
        duration = cut.duration
        size = ((try? FileManager.default.attributesOfItem(atPath: job.output)[.size]) as? NSNumber)?.intValue ?? 0
        bitrate = duration > 0 ? Double(size) * 8 / duration : 0
        videoCodec = job.facts.codec
        videoEncoder = "copy"
        videoOptions = [:]
        videoFilter = ""
        audioOptions = audioChoice?.options ?? [:]
        if let choice = audioChoice {
            audioCodec = codecName(encoder: choice.encoder)
            audioEncoder = choice.encoder
            audioFilter = audioRender.filter
            sampleRate = p.audio.sampleRate
            channels = p.audio.channels
        }
        if let target = p.audio.loudness, let out = output {
            loudness = LoudnessReport(target: target, truePeakCeiling: p.audio.truePeak,
                                      input: job.measured?.integrated ?? -70, inputTruePeak: job.measured?.truePeak ?? -144,
                                      output: out.integrated, outputTruePeak: out.truePeak, mode: audioRender.loudnessMode ?? "none")
        }
        video = job.path
        colour = job.facts.colour.map { ColourReport(copied: $0) }
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case profile, output, container, width, height, frameRate, frames, duration, size, bitrate
        case videoCodec, videoEncoder, videoOptions, videoFilter, audioCodec, audioEncoder, audioOptions, audioFilter
        case sampleRate, channels, loudness, video, notes
        case colour
    }

    // Absent values are written as null, so scripts see every key.
    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(profile, forKey: .profile); try c.encode(output, forKey: .output)
        try c.encode(container, forKey: .container); try c.encode(width, forKey: .width); try c.encode(height, forKey: .height)
        try c.encode(frameRate, forKey: .frameRate); try c.encode(frames, forKey: .frames); try c.encode(duration, forKey: .duration)
        try c.encode(size, forKey: .size); try c.encode(bitrate, forKey: .bitrate)
        try c.encode(videoCodec, forKey: .videoCodec); try c.encode(videoEncoder, forKey: .videoEncoder)
        try c.encode(videoOptions, forKey: .videoOptions); try c.encode(videoFilter, forKey: .videoFilter)
        try c.encode(audioCodec, forKey: .audioCodec); try c.encode(audioEncoder, forKey: .audioEncoder)
        try c.encode(audioOptions, forKey: .audioOptions); try c.encode(audioFilter, forKey: .audioFilter)
        try c.encode(sampleRate, forKey: .sampleRate); try c.encode(channels, forKey: .channels)
        try c.encode(loudness, forKey: .loudness); try c.encode(video, forKey: .video); try c.encode(notes, forKey: .notes)
        try c.encode(colour, forKey: .colour)
    }
}

/// The codec an encoder writes, by FFmpeg's short name ("h264", "aac", "opus").
func codecName(encoder: String) -> String {
    String(cString: avcodec_get_name(avcodec_find_encoder_by_name(encoder)?.pointee.id ?? AV_CODEC_ID_NONE))
}
