import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia
import RepriseTranscode

struct StitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stitch",
        abstract: "Join the parts of a chunked encode into one MP4, copying every packet.",
        discussion: """
        The video parts (from `reprise transcode --chunk`) are given in order; each must begin \
        exactly where the one before it ends. The audio part (from `--audio-only`) is \
        interleaved by time. Nothing is re-encoded. The output appears complete or not at all.
        """)

    @Argument(help: "The video parts, in order.") var parts: [String]
    @Option(help: "The audio part.") var audio: String?
    @Option(name: .shortAndLong, help: "The output file (MP4).") var output: String
    @Flag(name: .customLong("remove-parts"), help: "Remove the parts once the output is in place.") var removeParts = false
    @Flag(help: "Print the result as a JSON line on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        guard !parts.isEmpty else { throw ValidationError("name the video parts to stitch") }
        do {
            var request = StitchRequest(videoParts: parts, audio: audio, output: output)
            request.removeParts = removeParts
            let result = try ChunkStitcher.run(request)
            if json {
                try printJSONResult(result)
            } else {
                for o in result.outputs {
                    print(String(format: "%@: %d part(s), %d frames, %.3f s, %.1f MB, %.0f kb/s, %.2f s",
                                 o.output, result.parts.count, o.frames, o.duration, Double(o.size) / 1_000_000, o.bitrate / 1000, result.seconds))
                }
            }
        } catch {
            fail(error)
        }
    }
}
