import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles
import RepriseTranscode

struct LadderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ladder",
        abstract: "Package a recording (or a frame-exact range of it) as an HLS adaptive-bitrate ladder.",
        discussion: """
        All rungs come from one decode. IDRs fall every gop_seconds at the same times in every \
        rung, segments hold whole GOPs, and the master playlist declares each variant's measured \
        peak segment bitrate. When the source fits the top rung (codec, profile, level, size, \
        frame rate, bitrate under its max_bitrate), that rung is the source's own frames: GOPs \
        copied, and only where the grid needs an IDR the source lacks is the partial GOP \
        re-encoded (as `cut --mode smart` does); the other rungs are scaled each from the next \
        larger one. DIR is written under a hidden name beside it and renamed into place \
        when complete (an older ladder there is replaced). Ladders are Profiles/ladder-*.yaml \
        (and the profile folders' ladder-*.yaml files).

        Chunked: `--chunk-plan SECONDS` prints the chunks (SECONDS a multiple of segment_seconds, \
        on the segment grid) and their part folders; `--chunk START,END` encodes every rung's \
        segments of [START, END) s of the output into the part folder .reprise-parts/DIR.chunk-SSSSSSSSS-EEEEEEEEE \
        beside DIR         (the same segment numbers, times and IDRs the whole ladder has there; the source-reuse \
        top rung is off: every rung is encoded; a chunk also encodes at least 4 s before its \
        start and drops it, so the rate control is warm at its first IDR); `--audio-only` \
        encodes the audio rendition, whole, into .reprise-parts/DIR.chunk-audio. `reprise stitch PART… --audio AUDIOPART -o DIR` joins them.
        """)

    @Argument(help: "The recording.") var input: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Option(help: "Ladder name (default, overseas, … or ladder-NAME).") var ladder: String = "default"
    @Option(help: "Start of the range (inclusive).") var from: String?
    @Option(help: "End of the range (exclusive).") var to: String?
    @Option(help: "Segment length in seconds (a whole number of GOPs; default: the ladder's).") var segment: Double?
    @Option(help: "Segment format: fmp4 or ts (default: the ladder's).") var format: String?
    @Option(name: .customLong("profile-dir"), help: "Another folder of profile and ladder files (read last, so it overrides).")
    var profileDirs: [String] = []
    @Option(help: "auto: copy the source as the top rung when it fits; never: encode every rung (default: the ladder's).")
    var reuse: String?
    @Flag(name: .customLong("quality-report"),
          help: "Measure each rung's PSNR and SSIM against the source (libavfilter psnr/ssim; one more decode).")
    var qualityReport = false
    @Option(help: "Encode only every rung's segments of [START, END) seconds of the output (on the segment grid; END may be the end) into a part folder beside DIR.")
    var chunk: String?
    @Flag(name: .customLong("audio-only"), help: "Encode only the audio rendition, whole, into the audio part folder beside DIR.")
    var audioOnly = false
    @Option(name: .customLong("chunk-plan"), help: "Print the chunks of SECONDS (a multiple of segment_seconds) and their part folders; encode nothing.")
    var chunkPlan: Double?
    @Flag(help: "Print progress and the result as JSON lines on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        let reporter = makeReporter(json: json)
        do {
            let library = try LadderLibrary(folders: ProfileLibrary.defaultFolders(extra: profileDirs))
            guard var chosen = library.ladder(named: ladder) else {
                throw TranscodeError("unknown ladder '\(ladder)' (known: \(library.ladders.keys.sorted().joined(separator: ", ")))")
            }
            if let segment {
                let gops = segment / chosen.gopSeconds
                guard segment > 0, gops == gops.rounded() else {
                    throw CutError(.badTime, path: input, detail: "--segment \(segment) is not a whole number of \(chosen.gopSeconds) s GOPs")
                }
                chosen.segmentSeconds = segment
            }
            if let format {
                guard let f = Ladder.SegmentFormat(rawValue: format) else {
                    throw CutError(.unsupported, path: input, detail: "--format \(format): use fmp4 or ts")
                }
                chosen.format = f
            }
            if let reuse {
                guard reuse == "auto" || reuse == "never" else {
                    throw CutError(.unsupported, path: input, detail: "--reuse \(reuse): use auto or never")
                }
                chosen.reuse = reuse == "auto"
            }
            let range = try rangeOption(from: from, to: to, input: input)
            if chunk != nil || audioOnly || chunkPlan != nil {
                guard range == nil else { throw ValidationError("a chunked ladder covers the whole recording: leave out --from/--to") }
                guard !qualityReport else { throw ValidationError("--quality-report measures a whole ladder, not a part") }
                try runChunked(chosen, reporter: reporter)
                return
            }
            let result = try LadderEngine(progress: reporter).run(LadderRequest(input: input, output: output, ladder: chosen, range: range,
                                                                                qualityReport: qualityReport))
            reporter.finish()
            if json {
                try printJSONResult(result)
            } else {
                print(String(format: "%@: %@ ladder, [%.3f, %.3f) s, %@ %g s segments, %.1f MB, %.2f s",
                             result.master, result.ladder, result.from, result.to, result.format, result.segmentSeconds,
                             Double(result.bytes) / 1_000_000, result.seconds))
                for r in result.rungs {
                    let made = r.video == "copied"
                        ? "copied from the source (\(r.copiedPackets) packets copied, \(r.reencodedFrames) frames re-encoded)"
                        : "encoded, scaled from \(r.scaledFrom ?? "source")"
                    print(String(format: "  %@ %dx%d: BANDWIDTH %d (average %d), %@, %d segments, %@",
                                 r.name, r.width, r.height, r.bandwidth, r.averageBandwidth, r.codecs, r.segments, made))
                    if let q = r.quality {
                        print(String(format: "    PSNR %.2f dB, SSIM %.4f over %d frames (%@)", q.psnr, q.ssim, q.frames, q.method))
                    }
                }
                for s in result.skipped { print("  skipped \(s)") }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            reporter.finish()
            fail(error)
        }
    }

    /// `--chunk`, `--audio-only`, `--chunk-plan`: one part of a chunked ladder.
    func runChunked(_ ladder: Ladder, reporter: FinishingReporter) throws {
        let modes = [chunk != nil, audioOnly, chunkPlan != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("--chunk, --audio-only and --chunk-plan exclude each other") }
        let engine = LadderChunkEncoder(progress: reporter)
        if let seconds = chunkPlan {
            let layout = try engine.layout(input: input, output: output, ladder: ladder, chunkSeconds: seconds)
            reporter.finish()
            if json { try printJSONResult(layout) } else {
                print(String(format: "%@ → %@: %.3f s, %d chunk(s) of %g s (reuse %@)", input, output, layout.duration,
                             layout.chunks.count, seconds, layout.reuse))
                for c in layout.chunks { print(String(format: "  [%.3f, %.3f) → %@", c.start, c.end, c.part)) }
                if let a = layout.audioPart { print("  audio → \(a)") }
            }
            return
        }
        let part: LadderChunkRequest.Part
        if let chunk {
            let fields = chunk.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count == 2, let start = fields[0], let end = fields[1] else {
                throw CutError(.badTime, path: input, detail: "--chunk \(chunk) is not START,END in seconds")
            }
            part = .video(start: start, end: end)
        } else {
            part = .audio
        }
        let result = try engine.run(LadderChunkRequest(input: input, output: output, ladder: ladder, part: part))
        reporter.finish()
        if json { try printJSONResult(result) } else {
            print(String(format: "%@: %@ part, %.1f MB, %.2f s (reuse %@)", result.output, result.start == nil ? "audio" : "video",
                         Double(result.bytes) / 1_000_000, result.seconds, result.reuse))
            for r in result.rungs {
                print("  \(r.name) \(r.width)x\(r.height): \(r.frames) frames, \(r.segments.first ?? "-") … \(r.segments.last ?? "-")")
            }
        }
    }
}
