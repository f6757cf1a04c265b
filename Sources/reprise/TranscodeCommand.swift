import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles
import RepriseTranscode

struct TranscodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcode",
        abstract: "Re-encode a recording (or a frame-exact range of it) to one or more profiles in one pass.",
        discussion: """
        Every profile is made from one decode of the source. With one profile, -o may name the \
        output file; otherwise -o is a folder (made if missing) that receives \
        <input name>.<profile>.<container>. Times are as for `reprise cut`: seconds, \
        HH:MM:SS.mmm or a frame number (f123); a frame is in when its time is in [from, to). \
        `reprise profiles` lists the profiles.
        """)

    @Argument(help: "The recording to transcode.") var input: String
    @Option(help: "Profile names, comma-separated (e.g. vertical-short,long-form,overseas-low).") var profile: String
    @Option(name: .shortAndLong, help: "Output file (one profile) or folder.") var output: String
    @Option(help: "Start of the range (inclusive).") var from: String?
    @Option(help: "End of the range (exclusive).") var to: String?
    @Option(help: "JSON chapter list [{\"start\": s, \"end\": s, \"title\": \"…\"}] in recording time, for profiles with chapters.")
    var chapters: String?
    @Option(name: .customLong("profile-dir"), help: "Another folder of profile files (read last, so it overrides).")
    var profileDirs: [String] = []
    @Option(help: "Encode only the video frames of the output in [START, END) seconds (on the gop_seconds grid; END may be the end) to a video part beside the output (one MP4 profile).")
    var chunk: String?
    @Flag(name: .customLong("audio-only"), help: "Encode only the output's audio, to the audio part of a chunked encode.")
    var audioOnly = false
    @Option(name: .customLong("chunk-plan"), help: "Print the chunks of SECONDS (a multiple of gop_seconds) and their part files; encode nothing.")
    var chunkPlan: Double?
    @Flag(name: .customLong("keyframe-grid"), help: "Force IDRs on the gop_seconds grid (closed GOPs, no scene-cut keyframes): the output a chunked encode reproduces.")
    var keyframeGrid = false
    @Flag(help: "Print progress and the result as JSON lines on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        let reporter = makeReporter(json: json)
        do {
            let library = try ProfileLibrary(folders: ProfileLibrary.defaultFolders(extra: profileDirs))
            let names = profile.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--profile names no profile") }
            let profiles = try names.map { name -> Profile in
                guard let p = library.profile(named: name) else {
                    throw TranscodeError("unknown profile '\(name)' (known: \(library.profiles.keys.sorted().joined(separator: ", ")); see `reprise profiles`)")
                }
                return p
            }
            guard Set(names).count == names.count else { throw TranscodeError("--profile names a profile twice") }

            let range = try rangeOption(from: from, to: to, input: input)
            var marks: [ChapterMark] = []
            if let chapters {
                do { marks = try JSONDecoder().decode([ChapterMark].self, from: Data(contentsOf: URL(fileURLWithPath: chapters))) } catch {
                    throw CutError(.badSegments, path: chapters, detail: "not a chapter list ([{\"start\": seconds, \"title\": \"…\"}]): \(error.localizedDescription)")
                }
            }

            // Check the input before making any folder for the outputs.
            try InputChecks.validate(input: input)
            let outputs = try TranscodeCommand.outputPaths(input: input, output: output, profiles: profiles)
            if chunk != nil || audioOnly || chunkPlan != nil {
                try runChunked(outputs, range: range, reporter: reporter)
                return
            }
            var request = TranscodeRequest(input: input, outputs: outputs, range: range)
            request.chapters = marks
            request.keyframeGrid = keyframeGrid
            let result = try TranscodeEngine(progress: reporter).run(request)
            reporter.finish()
            if json {
                try printJSONResult(result)
            } else {
                TranscodeCommand.printSummary(result)
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            reporter.finish()
            fail(error)
        }
    }

    /// `--chunk`, `--audio-only`, `--chunk-plan`: one part of a chunked encode of one output.
    func runChunked(_ outputs: [TranscodeRequest.Output], range: RangeRequest?, reporter: FinishingReporter) throws {
        let modes = [chunk != nil, audioOnly, chunkPlan != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("--chunk, --audio-only and --chunk-plan exclude each other") }
        guard outputs.count == 1, let o = outputs.first else { throw ValidationError("a chunked encode takes one profile") }
        guard range == nil else { throw ValidationError("a chunked encode covers the whole recording: leave out --from/--to") }
        guard chapters == nil else { throw ValidationError("chapters go to the stitched output, not to its parts") }
        let engine = ChunkEncoder(progress: reporter)
        if let seconds = chunkPlan {
            let layout = try engine.layout(input: input, profile: o.profile, output: o.path, chunkSeconds: seconds)
            reporter.finish()
            if json { try printJSONResult(layout) } else {
                print(String(format: "%@ → %@: %.3f s, %d chunk(s) of %g s", input, o.path, layout.duration, layout.chunks.count, seconds))
                for c in layout.chunks { print(String(format: "  [%.3f, %.3f) → %@", c.start, c.end, c.part)) }
                if let a = layout.audioPart { print("  audio → \(a)") }
            }
            return
        }
        let part: ChunkRequest.Part
        if let chunk {
            let fields = chunk.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count == 2, let start = fields[0], let end = fields[1] else {
                throw CutError(.badTime, path: input, detail: "--chunk \(chunk) is not START,END in seconds")
            }
            part = .video(start: start, end: end)
        } else {
            part = .audio
        }
        let result = try engine.run(ChunkRequest(input: input, profile: o.profile, output: o.path, part: part))
        reporter.finish()
        if json { try printJSONResult(result) } else { TranscodeCommand.printSummary(result) }
    }

    /// One profile and a name with a known extension: that file. Otherwise a folder (made if
    /// missing) with `<input base>.<profile>.<container>` in it.
    static func outputPaths(input: String, output: String, profiles: [Profile]) throws -> [TranscodeRequest.Output] {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory)
        let ext = (output as NSString).pathExtension.lowercased()
        if profiles.count == 1 && !(exists && isDirectory.boolValue) && ["mp4", "m4v", "mkv", "ts"].contains(ext) {
            return [.init(profile: profiles[0], path: output)]
        }
        if !exists {
            do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
                throw CutError(.unwritableOutput, path: output, detail: "can't make the output folder (\(error.localizedDescription))")
            }
        } else if !isDirectory.boolValue {
            throw CutError(.unwritableOutput, path: output, detail: "is a file; several profiles need an output folder")
        }
        let base = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        return profiles.map { p in
            .init(profile: p, path: (output as NSString).appendingPathComponent("\(base).\(p.name).\(p.container.rawValue)"))
        }
    }

    static func printSummary(_ r: TranscodeResult) {
        print(String(format: "%@: [%.3f, %.3f) s, %d frames, %.2f s", r.input, r.from, r.to, r.frames, r.seconds))
        for o in r.outputs {
            var line = String(format: "  %@ → %@: %dx%d %@ %.3g fps, %.3f s, %.1f MB, %.0f kb/s",
                              o.profile, o.output, o.width, o.height, o.videoCodec, o.frameRate, o.duration,
                              Double(o.size) / 1_000_000, o.bitrate / 1000)
            if let l = o.loudness {
                line += String(format: ", loudness %.1f → %.1f LUFS (target %.1f), true peak %.1f dBTP, %@",
                               l.input, l.output, l.target, l.outputTruePeak, l.mode)
            }
            print(line)
            print("    video \(o.video.path.rawValue): \(o.video.reason)")
            for n in o.notes { print("    note: \(n)") }
        }
    }
}
