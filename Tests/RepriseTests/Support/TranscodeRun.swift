import Foundation

/// Recordings for the `reprise transcode` tests: the `.bands` layout (readable after crop, pad,
/// blur-pad and follow), with the pink-noise audio bed so loudness is well defined. Short, to
/// keep encodes at large sizes affordable on a 2-core machine.
extension FixtureSpec {
    /// 640x360 (16:9), 30 fps, 6 s: scene cut at frame 90 (3.0 s).
    static let bands169 = FixtureSpec(seconds: 6, width: 640, height: 360, layout: .bands, audioBed: true)
    /// 640x480 (4:3), 30 fps, 3 s.
    static let bands43 = FixtureSpec(seconds: 3, width: 640, height: 480, layout: .bands, audioBed: true)
    /// 640x360 stored, shown turned 90° counterclockwise (360x640 upright), 3 s.
    static let bandsRotated = FixtureSpec(seconds: 3, width: 640, height: 360, rotation: 90, layout: .bands, audioBed: true)
    /// 640x360 at 60 fps, 4 s.
    static let bands60 = FixtureSpec(seconds: 4, fps: 60, gop: 60, width: 640, height: 360, layout: .bands, audioBed: true)
    /// 640x360, 4 s, fresh noise on every frame's bottom third: costly to encode.
    static let bandsNoisy = FixtureSpec(seconds: 4, width: 640, height: 360, layout: .bands, noise: true, audioBed: true)
    /// 1920x1080, 2 s (encodes at 1080x1920 are slow on 2 cores).
    static let bands1080 = FixtureSpec(seconds: 2, width: 1920, height: 1080, layout: .bands, audioBed: true)

    /// The code drawn in this fixture's frames (`.bands` layout).
    var bandsCode: BandsCode { BandsCode(width: width, height: height, frameCount: frameCount) }
    /// The picture size a player shows (rotation applied).
    var displaySize: (width: Int, height: Int) { rotation % 180 == 0 ? (width, height) : (height, width) }
}

/// A folder of profile files for `--profile-dir`.
enum ProfileFolder {
    /// Writes each `name → YAML text` as `name.yaml` in a new folder.
    static func make(_ files: [String: String]) throws -> URL {
        let folder = ScratchSpace.makeFolder("profiles")
        for (name, text) in files {
            try Data(text.utf8).write(to: folder.appendingPathComponent("\(name).yaml"))
        }
        return folder
    }

    /// Where the shipped profiles are (the source tree's Profiles/).
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Profiles")
}

/// One `reprise transcode … --json` run.
struct TranscodeRun: Sendable {
    let arguments: [String]
    let run: Reprise.Run

    var status: Int32 { run.status }
    var transcript: String { run.transcript }
    /// The last stdout line, parsed: `{"event":"result", …}`.
    var result: JSONValue? { run.summary() }
    var succeeded: Bool { status == 0 && result?["event"]?.string == "result" }
    var outputs: [JSONValue] { result?["outputs"]?.array ?? [] }

    /// The result entry for `profile`.
    func entry(_ profile: String) -> JSONValue? { outputs.first { $0["profile"]?.string == profile } }

    /// stdout lines that are not JSON objects (all of them must be, with `--json`).
    var nonJSONLines: [String] {
        run.output.stdoutText.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && JSONValue.parse($0)?.object == nil }
    }

    /// `reprise transcode INPUT --profile P1,P2 -o OUTPUT [extra] [--profile-dir D]… --json`.
    static func run(_ input: URL, profiles: [String], output: URL, extra: [String] = [],
                    profileDirs: [URL] = [], timeout: TimeInterval = 300) throws -> TranscodeRun {
        var arguments = ["transcode", input.path, "--profile", profiles.joined(separator: ","), "-o", output.path]
        arguments += extra
        for dir in profileDirs { arguments += ["--profile-dir", dir.path] }
        arguments.append("--json")
        return TranscodeRun(arguments: arguments, run: try Reprise.run(arguments, timeout: timeout))
    }
}

/// An output file as ffmpeg/ffprobe see it: streams, every video frame's time and gray pixels,
/// video packets in decode order.
struct TranscodedOutput: Sendable {
    let url: URL
    let probe: MediaProbe.Report
    let video: MediaProbe.Stream
    /// Presentation times of the decoded video frames (ffprobe), in output order.
    let frameTimes: [Double]
    let gray: GrayFrames
    let packets: [FFprobe.Packet]

    var width: Int { gray.width }
    var height: Int { gray.height }
    var size: (width: Int, height: Int) { (gray.width, gray.height) }
    var frameCount: Int { gray.count }

    static func read(_ url: URL) throws -> TranscodedOutput {
        let probe = try MediaProbe.describe(url)
        guard let video = probe.video, let width = video.width, let height = video.height else {
            throw SubprocessError(description: "\(url.path): no video stream")
        }
        let frames = try FFprobe.frames(url, stream: "v:0")
        let gray = try GrayFrames.decode(url, size: (width, height))
        guard gray.count == frames.count else {
            throw SubprocessError(description: "\(url.path): ffmpeg decoded \(gray.count) frames, ffprobe \(frames.count)")
        }
        let times = try frames.enumerated().map { n, frame -> Double in
            guard let time = frame.time else { throw SubprocessError(description: "\(url.path): frame \(n) has no time") }
            return time
        }
        return TranscodedOutput(url: url, probe: probe, video: video, frameTimes: times, gray: gray,
                                packets: try FFprobe.packets(url, stream: "v:0"))
    }

    /// The band code's index in every frame, the source picture lying at `content`.
    func indices(_ code: BandsCode, content: ContentRect) -> [Int?] {
        (0..<gray.count).map { code.read(gray[$0], content: content) }
    }

    /// Largest number of video bits in any window of `seconds` of decode time (by packet DTS).
    func peakBits(window seconds: Double) -> Double {
        let timed = packets.compactMap { p -> (Double, Double)? in
            guard let t = p.dtsSeconds ?? p.ptsSeconds, let size = p.size.flatMap(Double.init) else { return nil }
            return (t, size * 8)
        }.sorted { $0.0 < $1.0 }
        var best = 0.0, sum = 0.0, end = 0
        for start in timed.indices {
            while end < timed.count, timed[end].0 < timed[start].0 + seconds - 1e-9 { sum += timed[end].1; end += 1 }
            best = max(best, sum)
            sum -= timed[start].1
        }
        return best
    }

    /// Presentation times of keyframe packets, ascending.
    var keyframeTimes: [Double] { packets.filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted() }
}
