import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia
import RepriseTranscode

struct StitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stitch",
        abstract: "Join the parts of a chunked encode into one MP4 (or one HLS ladder), copying every packet.",
        discussion: """
        The video parts (from `reprise transcode --chunk`) are given in order; each must begin \
        exactly where the one before it ends. The audio part (from `--audio-only`) is \
        interleaved by time. Nothing is re-encoded. The output appears complete or not at all.

        Ladder parts (folders from `reprise ladder --chunk`, the audio from `reprise ladder \
        --audio-only`) make a ladder folder: each rung's segments from every part (hard-linked, \
        or copied), its media and I-frame playlists, the audio rendition and the master playlist \
        from the measured segment rates. Parts of another recording or another definition of the \
        ladder, a missing audio part when the recording has audio, an output in a part folder, a \
        gap, an overlap, a missing segment, rungs that differ between parts or init segments that \
        are not interchangeable are refused.
        """)

    @Argument(help: "The video parts (MP4 files, or ladder part folders), in order.") var parts: [String]
    @Option(help: "The audio part (an MP4 file, or a ladder's audio part folder; needed when the recording has audio).") var audio: String?
    @Option(name: .shortAndLong, help: "The output file (MP4), or the ladder folder.") var output: String
    @Flag(name: .customLong("remove-parts"), help: "Remove the parts once the output is in place.") var removeParts = false
    @Flag(help: "Print the result as a JSON line on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        guard !parts.isEmpty else { throw ValidationError("name the video parts to stitch") }
        do {
            if LadderStitcher.areLadderParts(parts) {
                guard !removeParts else { throw ValidationError("--remove-parts is for MP4 parts; a ladder's part folders are removed by whoever made them") }
                let result = try LadderStitcher.run(LadderStitchRequest(videoParts: parts, audio: audio, output: output))
                if json { try printJSONResult(result) } else {
                    print(String(format: "%@: %d part(s), %@ ladder, %.3f s, %.1f MB, %.2f s", result.master, result.parts.count,
                                 result.ladder, result.duration, Double(result.bytes) / 1_000_000, result.seconds))
                    for r in result.rungs {
                        print(String(format: "  %@ %dx%d: BANDWIDTH %d (average %d), %@, %d segments",
                                     r.name, r.width, r.height, r.bandwidth, r.averageBandwidth, r.codecs, r.segments))
                    }
                }
                return
            }
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
