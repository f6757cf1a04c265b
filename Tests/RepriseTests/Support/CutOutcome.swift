import Foundation
import XCTest

/// One `reprise cut` of a fixture, and what an outside witness reads back from its output.
/// Cuts are cached by their arguments, so several tests can check different facts of one cut.
struct CutOutcome: Sendable {
    let source: SourceWitness
    let arguments: [String]
    let run: Reprise.Run
    let output: URL
    /// Names in the output's folder after the run (the folder was empty before).
    let folderAfter: [String]
    /// Whether the source file kept its bytes and modification time.
    let sourceUnchanged: Bool
    let video: VideoReadback?
    let audio: AudioReadback?
    let packets: PacketWitness?
    /// What `ffmpeg -v error -i OUT -f null -` printed.
    let decodeErrors: String?

    // MARK: making

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: CutOutcome] = [:]

    /// Cuts `spec`'s fixture with `cutArguments` (everything after IN, except -o and --json)
    /// into a fresh folder, as `output.<ext>`.
    static func cut(_ spec: FixtureSpec, _ cutArguments: [String], ext: String = "mp4") throws -> CutOutcome {
        let source = try SourceWitness.of(spec)
        let key = "\(spec)|\(cutArguments.joined(separator: " "))|\(ext)"
        lock.lock()
        defer { lock.unlock() }
        if let outcome = cache[key] { return outcome }

        let folder = ScratchSpace.makeFolder("cut")
        let output = folder.appendingPathComponent("output.\(ext)")
        var cutArguments = cutArguments
        if let i = cutArguments.firstIndex(of: "@segments"), i + 1 < cutArguments.count {
            // A reel: write the JSON text that follows into a segments file.
            let file = folder.deletingLastPathComponent().appendingPathComponent("\(folder.lastPathComponent)-segments.json")
            try Data(cutArguments[i + 1].utf8).write(to: file)
            cutArguments.replaceSubrange(i...(i + 1), with: ["--segments", file.path])
        }
        let before = try FileSnapshot(source.url)
        let arguments = ["cut", source.url.path, "-o", output.path] + cutArguments + ["--json"]
        let run = try Reprise.run(arguments)
        let unchanged = (try? FileSnapshot(source.url)) == before
        let exists = FileManager.default.fileExists(atPath: output.path)
        let outcome = CutOutcome(
            source: source, arguments: arguments, run: run, output: output,
            folderAfter: FileSnapshot.listing(folder), sourceUnchanged: unchanged,
            video: exists ? try? VideoReadback.read(output) : nil,
            audio: exists ? try? AudioReadback.read(output) : nil,
            packets: exists ? try? PacketWitness.read(output) : nil,
            decodeErrors: exists ? try? DecodeCheck.errors(output) : nil)
        cache[key] = outcome
        return outcome
    }

    // MARK: tolerances

    /// Largest allowed A/V offset change, and frame-time error (seconds).
    static let tolerance = 0.001

    /// Largest allowed |audio duration − video duration|. MPEG-TS and Matroska (as FFmpeg 5.1
    /// writes them) cannot signal trimmed AAC padding at the end, so there the last AAC frame
    /// may run on for up to one frame (1024 samples) past the video.
    var audioLengthTolerance: Double {
        switch output.pathExtension {
        case "ts", "mkv": return 1024.0 / 48_000 + Self.tolerance
        default: return Self.tolerance
        }
    }

    // MARK: checks

    /// The run succeeded, left exactly the output in its folder, and the source alone;
    /// the output decodes with no error; the --json summary is right.
    func assertSucceeded(mode: String = "smart", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 0, "reprise failed:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(folderAfter, [output.lastPathComponent],
                       "output folder should hold only the output (no partial/temp files)", file: file, line: line)
        XCTAssertTrue(sourceUnchanged, "source file was modified", file: file, line: line)
        guard let video else { return XCTFail("output unreadable or missing: \(output.path)", file: file, line: line) }
        XCTAssertEqual(decodeErrors ?? "not run", "", "output does not decode cleanly", file: file, line: line)
        guard let summary = run.summary() else {
            return XCTFail("last stdout line is not a JSON object:\n\(run.transcript)", file: file, line: line)
        }
        XCTAssertEqual(summary["mode"] as? String, mode, "summary mode", file: file, line: line)
        XCTAssertEqual((summary["frames"] as? NSNumber)?.intValue, video.frames.count,
                       "summary frames vs frames in the output", file: file, line: line)
        if let path = summary["output"] as? String {
            XCTAssertEqual(URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path,
                           output.standardizedFileURL.resolvingSymlinksInPath().path,
                           "summary output path", file: file, line: line)
        } else {
            XCTFail("summary has no \"output\" string: \(summary)", file: file, line: line)
        }
    }

    /// The output holds exactly `expected` source frames, in order: none unreadable, missing,
    /// repeated or extra.
    func assertFrames(_ expected: [Int], file: StaticString = #filePath, line: UInt = #line) {
        guard let video else { return XCTFail("no output to read", file: file, line: line) }
        let got = video.indices
        XCTAssertFalse(got.contains(nil), "\(got.filter { $0 == nil }.count) unreadable frames", file: file, line: line)
        let indices = got.compactMap { $0 }
        if indices != expected {
            XCTFail("""
                frames differ: got \(indices.count) [\(indices.first.map(String.init) ?? "-")…\(indices.last.map(String.init) ?? "-")], \
                expected \(expected.count) [\(expected.first.map(String.init) ?? "-")…\(expected.last.map(String.init) ?? "-")]; \
                \(Self.describeDifference(indices, expected))
                """, file: file, line: line)
        }
    }

    static func describeDifference(_ got: [Int], _ expected: [Int]) -> String {
        let common = zip(got, expected).prefix { $0 == $1 }.count
        let missing = Set(expected).subtracting(got).sorted()
        let extra = Set(got).subtracting(expected).sorted()
        let repeats = Dictionary(grouping: got, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        return "first difference at output frame \(common); missing \(missing.prefix(12)); "
            + "extra \(extra.prefix(12)); repeated \(repeats.prefix(12))"
    }

    /// Video starts at 0 and every frame is shown for as long as in the source (so a CFR source
    /// stays CFR, a VFR source keeps its own times, and a reel join has no gap or overlap).
    func assertTiming(file: StaticString = #filePath, line: UInt = #line) {
        guard let video, let first = video.frames.first else { return XCTFail("no output frames", file: file, line: line) }
        if output.pathExtension == "ts" {
            // MPEG-TS has no zero: FFmpeg's convention starts streams after a mux delay.
            // There, nothing may start before the video.
            XCTAssertEqual(first.time, video.formatStart, accuracy: Self.tolerance,
                           "video must start the output", file: file, line: line)
        } else {
            XCTAssertEqual(first.time, 0, accuracy: Self.tolerance, "output video must start at 0", file: file, line: line)
        }
        var reported = 0
        for (a, b) in zip(video.frames, video.frames.dropFirst()) {
            guard let index = a.index, index < source.frameCount else { continue }
            let expected = source.durations[index]
            if abs((b.time - a.time) - expected) > Self.tolerance, reported < 5 {
                reported += 1
                XCTFail("frame \(index) is shown for \(b.time - a.time) s in the output, \(expected) s in the source",
                        file: file, line: line)
            }
        }
    }

    /// Packets are in strictly increasing DTS order (where the container stores DTS).
    func assertDTSIncreasing(file: StaticString = #filePath, line: UInt = #line) {
        guard let packets else { return XCTFail("no output packets", file: file, line: line) }
        if let bad = packets.dtsViolations() {
            XCTAssertEqual(bad, [], "packets whose DTS is missing or not above the previous one", file: file, line: line)
        } else {
            XCTAssertEqual(output.pathExtension, "mkv", "no DTS at all in a container that stores it",
                           file: file, line: line)
        }
    }

    /// Every whole source GOP inside the ranges is in the output unchanged (smart cut).
    /// Returns how many runs were required.
    @discardableResult
    func assertCopies(_ ranges: [CutRange], file: StaticString = #filePath, line: UInt = #line) -> Int {
        guard let packets else { XCTFail("no output packets", file: file, line: line); return 0 }
        let runs = source.packetsToCopy(ranges)
        let report = packets.findCopies(of: runs, from: source)
        XCTAssertEqual(report.missing, [], "whole GOPs inside \(ranges) not copied byte-identical", file: file, line: line)
        return runs.count
    }

    /// Audio starts with the video, lasts as long, and each beep keeps the source's A/V offset.
    func assertAudio(file: StaticString = #filePath, line: UInt = #line) {
        guard source.audio != nil else { return }
        guard let video, let first = video.frames.first else { return XCTFail("no output video", file: file, line: line) }
        guard let audio else { return XCTFail("output has no audio stream", file: file, line: line) }
        let videoSpan = video.frames.compactMap(\.index).filter { $0 < source.frameCount }
            .map { source.durations[$0] }.reduce(0, +)
        XCTAssertEqual(audio.start, first.time, accuracy: Self.tolerance, "audio must start with the video",
                       file: file, line: line)
        XCTAssertEqual(audio.duration, videoSpan, accuracy: audioLengthTolerance,
                       "audio duration vs video duration", file: file, line: line)
        let sync = AVSync.measure(video: video, audio: audio, source: source)
        XCTAssertEqual(sync.missing, [], "beeps (by source second) missing from the output audio", file: file, line: line)
        XCTAssertEqual(sync.stray, [], "onsets in the output audio that match no source beep", file: file, line: line)
        for (second, offset) in sync.offsets.sorted(by: { $0.key < $1.key }) {
            guard let reference = source.avOffsets[second] else { continue }
            XCTAssertEqual(offset * 1000, reference * 1000, accuracy: Self.tolerance * 1000,
                           "A/V offset (ms) at source second \(second)", file: file, line: line)
        }
    }

    /// Everything a correct cut of `ranges` shows: success, exact frames, timing, DTS order, audio.
    func assertExactCut(_ ranges: [CutRange], mode: String = "smart", file: StaticString = #filePath, line: UInt = #line) {
        assertSucceeded(mode: mode, file: file, line: line)
        assertFrames(source.indices(ranges), file: file, line: line)
        assertTiming(file: file, line: line)
        assertDTSIncreasing(file: file, line: line)
        assertAudio(file: file, line: line)
    }
}
