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
        peak segment bitrate. DIR is written under a hidden name beside it and renamed into place \
        when complete (an older ladder there is replaced). Ladders are Profiles/ladder-*.yaml \
        (and the profile folders' ladder-*.yaml files).
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
            let range = try rangeOption(from: from, to: to, input: input)
            let result = try LadderEngine(progress: reporter).run(LadderRequest(input: input, output: output, ladder: chosen, range: range))
            reporter.finish()
            if json {
                try printJSONResult(result)
            } else {
                print(String(format: "%@: %@ ladder, [%.3f, %.3f) s, %@ %g s segments, %.1f MB, %.2f s",
                             result.master, result.ladder, result.from, result.to, result.format, result.segmentSeconds,
                             Double(result.bytes) / 1_000_000, result.seconds))
                for r in result.rungs {
                    print(String(format: "  %@ %dx%d: BANDWIDTH %d (average %d), %@, %d segments",
                                 r.name, r.width, r.height, r.bandwidth, r.averageBandwidth, r.codecs, r.segments))
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
}
