import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia

struct CutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cut",
        abstract: "Cut frame-exact ranges out of a recording into one output.",
        discussion: """
        Times are positions in the recording as a player shows them: seconds (754.2), \
        HH:MM:SS.mmm, or a frame number counted from 0 (f22626). A frame is in the cut when \
        its presentation time is in [from, to). The output type follows its extension: .mp4, .mkv, .ts.
        """)

    @Argument(help: "The recording to cut.") var input: String
    @Option(name: .shortAndLong, help: "Output file (.mp4, .mkv or .ts).") var output: String
    @Option(help: "Start of the range (inclusive).") var from: String?
    @Option(help: "End of the range (exclusive).") var to: String?
    @Option(help: "JSON file with many [from, to) ranges, written as one output in one pass.") var segments: String?
    @Option(help: "smart (copy whole GOPs, re-encode edges), exact (re-encode all), keyframe (copy from the keyframe before).")
    var mode: CutMode = .smart
    @Option(help: "x264/x265 preset for re-encoded frames.") var preset: String = "veryfast"
    @Flag(help: "Print progress and the result as JSON lines on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        let reporter = makeReporter(json: json)
        do {
            var ranges: [RangeRequest] = []
            if let segments {
                guard from == nil && to == nil else {
                    throw ValidationError("give either --segments or --from/--to, not both")
                }
                ranges = try SegmentsFile.load(segments)
            } else {
                guard let from, let to else { throw ValidationError("give --from and --to, or --segments FILE.json") }
                guard let f = TimeSpec(from) else { throw CutError(.badTime, path: input, detail: "--from \(from) is not a time (seconds, HH:MM:SS.mmm or fN)") }
                guard let t = TimeSpec(to) else { throw CutError(.badTime, path: input, detail: "--to \(to) is not a time (seconds, HH:MM:SS.mmm or fN)") }
                ranges = [RangeRequest(from: f, to: t)]
            }
            var request = CutRequest(input: input, output: output, ranges: ranges, mode: mode)
            request.preset = preset
            let result = try CutEngine(progress: reporter).run(request)
            reporter.finish()
            if json {
                var value = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
                value["event"] = "result"
                let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let ranges = result.ranges.map { String(format: "[%.3f, %.3f)", $0.from, $0.to) }.joined(separator: " ")
                print(String(format: "%@: %d frames, %.3f s (%@), %d packets copied, %d frames re-encoded, %@ mode, %.2f s",
                             result.output, result.frames, result.duration, ranges, result.copiedPackets,
                             result.reencodedFrames, result.mode.rawValue, result.seconds))
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            reporter.finish()
            fail(error)
        }
    }
}

extension CutMode: ExpressibleByArgument {}
