import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles

/// One output made from the source's own video, for a profile the source already fits: the
/// range is smart-cut (whole GOPs copied, the partial GOPs at its edges re-encoded to match), and
/// only the audio is re-encoded, to the profile's codec and rate through its loudness chain.
enum SourceCopy {
    struct Job {
        var input: String
        var output: String
        var profile: Profile
        var range: RangeRequest
        /// Seconds of video the range holds (the audio is made exactly as long).
        var duration: Double
        var measured: Loudness?
        var chapters: [Chapter]
        var facts: SourceFit.Facts
        var path: VideoPath
    }

    static func run(_ job: Job, progress: ProgressReporter?) throws -> OutputReport {
        let profile = job.profile
        let choice: EncoderChoice
        do { choice = try EncoderChoice.audio(profile.audio) } catch let e as TranscodeError {
            throw CutError(.unsupported, path: job.output, detail: "\(profile.name): \(e.description)")
        }
        var settings = AudioEncoderSettings(sampleRate: profile.audio.sampleRate, channels: profile.audio.channels,
                                            bitRate: Int64(profile.audio.bitrate))
        settings.codecName = choice.encoder
        settings.options = choice.options.filter { $0.key != "b" }
        let (audio, duration, measured) = (profile.audio, job.duration, job.measured)
        // The meter is only read for a loudness target (the result's `loudness`).
        let metered = audio.loudness != nil
        let render = AudioRender.plan(audio: audio, duration: duration, measured: measured, sampleFormat: "fltp", metered: metered)
        let meter = Meter()
        var request = CutRequest(input: job.input, output: job.output, ranges: [job.range], mode: .smart)
        let container = OutputPipeline.Container.file(profile.container)
        request.formatName = container.format
        request.muxerOptions = container.options  // +faststart for mp4, as a re-encoded output has
        request.preset = profile.video.encoderOptions["preset"] ?? "veryfast"
        // The edges are made as the profile would make its frames (its quality, under its cap).
        if let crf = profile.video.quality {
            request.edgeQuality = EdgeEncoding.Quality(crf: crf, maxBitRate: profile.video.maxBitrate.map(Int64.init),
                                                       bufferSize: profile.video.bufferSize.map(Int64.init))
        }
        request.audio = CutAudioOutput(encoder: settings, filter: { format in
            AudioRender.plan(audio: audio, duration: duration, measured: measured, sampleFormat: format, metered: metered).filter
        }, observe: { meter.read($0) })
        if profile.chapters {
            request.chapters = job.chapters.map {
                CutChapter(title: $0.title, start: $0.timeBase.seconds($0.start), end: $0.timeBase.seconds($0.end))
            }
        }
        let cut = try CutEngine(progress: progress).run(request)

        var notes = choice.notes + render.notes
        notes.append("\(cut.copiedPackets) frames copied from the source, \(cut.reencodedFrames) re-encoded at the range's edges")
        if !cut.audio { notes.append("the source has no audio: the output has none") }
        return OutputReport(copy: cut, job: job, audioChoice: cut.audio ? choice : nil, audioRender: render,
                            output: cut.audio ? meter.loudness : nil, notes: notes)
    }

    /// The loudness meter's reading, written on the cut's audio queue and read after the cut.
    final class Meter: @unchecked Sendable {
        private let lock = NSLock()
        private var reading = LoudnessReading()
        func read(_ frame: UnsafeMutablePointer<AVFrame>) { lock.withLock { reading.read(frame) } }
        var loudness: Loudness { lock.withLock { reading.loudness } }
    }
}
