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
    /// Why reading the output back failed, if it did.
    let readErrors: [String]

    // MARK: making

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: CutOutcome] = [:]

    /// Cuts `spec`'s fixture with `cutArguments` (everything after IN, except -o and --json)
    /// into a fresh folder, as `output.<ext>`. With `segments`, that JSON text is written to a
    /// file (beside the folder, not in it) passed as `--segments FILE`.
    static func cut(_ spec: FixtureSpec, _ cutArguments: [String] = [], segments: String? = nil,
                    ext: String = "mp4") throws -> CutOutcome {
        let source = try SourceWitness.of(spec)
        let key = "\(spec)|\(cutArguments.joined(separator: " "))|\(segments ?? "")|\(ext)"
        lock.lock()
        defer { lock.unlock() }
        if let outcome = cache[key] { return outcome }

        let folder = ScratchSpace.makeFolder("cut")
        let output = folder.appendingPathComponent("output.\(ext)")
        var cutArguments = cutArguments
        if let segments {
            let file = folder.deletingLastPathComponent().appendingPathComponent("\(folder.lastPathComponent)-segments.json")
            try Data(segments.utf8).write(to: file)
            cutArguments += ["--segments", file.path]
        }
        let before = try FileSnapshot(source.url)
        let arguments = ["cut", source.url.path, "-o", output.path] + cutArguments + ["--json"]
        let run = try Reprise.run(arguments)
        let unchanged = (try? FileSnapshot(source.url)) == before
        var readErrors: [String] = []
        func read<T>(_ what: String, _ body: () throws -> T?) -> T? {
            guard FileManager.default.fileExists(atPath: output.path) else { return nil }
            do { return try body() } catch { readErrors.append("\(what): \(error)"); return nil }
        }
        let video = read("video") { try VideoReadback.read(output) }
        let audio = read("audio") { try AudioReadback.read(output) }
        let packets = read("packets") { try PacketWitness.read(output) }
        let decodeErrors = read("decode") { try DecodeCheck.errors(output) }
        let outcome = CutOutcome(
            source: source, arguments: arguments, run: run, output: output,
            folderAfter: FileSnapshot.listing(folder), sourceUnchanged: unchanged,
            video: video, audio: audio, packets: packets, decodeErrors: decodeErrors, readErrors: readErrors)
        cache[key] = outcome
        return outcome
    }

    // MARK: tolerances

    /// Largest allowed frame-time error and A/V offset change (seconds).
    static let tolerance = 0.001

    /// One AAC frame at 48 kHz (1024 samples): the encoder's priming delay, and the most its
    /// end padding can add.
    static let aacFrame = 1024.0 / 48_000

    /// MP4 signals AAC priming and padding (edit list), so there audio must match the video to
    /// 1 ms at both ends. MPEG-TS and Matroska as FFmpeg 5.1 writes them cannot: the priming
    /// frame shows as audio starting up to 1024 samples before the video, and the last frame's
    /// padding as audio running up to 1024 samples past it. Those outputs get that much slack
    /// (the A/V offset inside, measured at the beeps, is held to the same limit everywhere).
    var hidesAACFraming: Bool { output.pathExtension == "mp4" }

    /// Matroska and FLV store times in whole milliseconds: each such file adds up to 0.5 ms of
    /// rounding to a measured A/V offset.
    var avTolerance: Double {
        var tolerance = Self.tolerance
        if ["mkv", "flv"].contains(source.url.pathExtension) { tolerance += 0.0005 }
        if output.pathExtension == "mkv" { tolerance += 0.0005 }
        return tolerance
    }

    // MARK: checks

    /// reprise exited 0 and its output can be read back (checks after this one need that).
    var succeeded: Bool { run.status == 0 && video != nil }

    /// The run succeeded, left exactly the output in its folder, and the source alone;
    /// the output decodes with no error; the --json summary is right.
    func assertSucceeded(mode: String = "smart", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 0, "reprise failed:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(folderAfter, [output.lastPathComponent],
                       "output folder should hold only the output (no partial/temp files)", file: file, line: line)
        XCTAssertTrue(sourceUnchanged, "source file was modified", file: file, line: line)
        XCTAssertEqual(readErrors, [], "reading the output back failed", file: file, line: line)
        guard let video else { return XCTFail("output unreadable or missing: \(output.path)", file: file, line: line) }
        XCTAssertEqual(decodeErrors ?? "not run", "", "output does not decode cleanly", file: file, line: line)
        guard let summary = run.summary() else {
            return XCTFail("last stdout line is not a JSON object:\n\(run.transcript)", file: file, line: line)
        }
        XCTAssertEqual(summary["mode"]?.string, mode, "summary mode", file: file, line: line)
        XCTAssertEqual(summary["frames"]?.int, video.frames.count,
                       "summary frames vs frames in the output", file: file, line: line)
        if let path = summary["output"]?.string {
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
    /// (MPEG-TS has no zero — FFmpeg starts streams after a mux delay — and in TS and Matroska the
    /// audio's AAC priming may come first: see `hidesAACFraming`. There the video must start
    /// the file, or follow its start by at most that priming.)
    func assertTiming(file: StaticString = #filePath, line: UInt = #line) {
        guard let video, let first = video.frames.first else { return XCTFail("no output frames", file: file, line: line) }
        if hidesAACFraming {
            XCTAssertEqual(first.time, 0, accuracy: Self.tolerance, "output video must start at 0", file: file, line: line)
        } else {
            let lead = first.time - video.formatStart
            XCTAssertTrue(lead >= -Self.tolerance && lead <= Self.aacFrame + Self.tolerance,
                          "video starts \(lead) s after the container start", file: file, line: line)
            if output.pathExtension != "ts" {
                XCTAssertEqual(first.time, 0, accuracy: Self.aacFrame + Self.tolerance,
                               "output video must start at 0 (or after the AAC priming)", file: file, line: line)
            }
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

    /// Packets are in strictly increasing DTS order. (Matroska stores no DTS — what ffprobe shows
    /// there is guessed — so for .mkv this checks nothing.)
    func assertDTSIncreasing(file: StaticString = #filePath, line: UInt = #line) {
        guard output.pathExtension != "mkv" else { return }
        guard let packets else { return XCTFail("no output packets", file: file, line: line) }
        XCTAssertEqual(packets.dtsViolations(), [],
                       "packets whose DTS is missing or not above the previous one", file: file, line: line)
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

    /// Audio covers the video's span — from its first frame to the end of its last — and each
    /// beep keeps the source's A/V offset. (Slack for AAC framing: see `hidesAACFraming`.)
    func assertAudio(file: StaticString = #filePath, line: UInt = #line) {
        guard source.audio != nil else { return }
        guard let video, let first = video.frames.first else { return XCTFail("no output video", file: file, line: line) }
        guard let audio else { return XCTFail("output has no audio stream", file: file, line: line) }
        let videoSpan = video.frames.compactMap(\.index).filter { $0 < source.frameCount }
            .map { source.durations[$0] }.reduce(0, +)
        let videoEnd = first.time + videoSpan
        let slack = hidesAACFraming ? 0 : Self.aacFrame
        let audioEnd = hidesAACFraming ? audio.start + (audio.declaredDuration ?? audio.duration) : audio.end
        XCTAssertTrue(audio.start >= first.time - slack - Self.tolerance && audio.start <= first.time + Self.tolerance,
                      "audio starts at \(audio.start) s, video at \(first.time) s", file: file, line: line)
        XCTAssertTrue(audioEnd >= videoEnd - Self.tolerance && audioEnd <= videoEnd + slack + Self.tolerance,
                      "audio ends at \(audioEnd) s, video at \(videoEnd) s (audio duration \(audioEnd - audio.start) s, "
                      + "video \(videoSpan) s)", file: file, line: line)
        let sync = AVSync.measure(video: video, audio: audio, source: source)
        XCTAssertEqual(sync.missing, [], "beeps (by source second) missing from the output audio", file: file, line: line)
        XCTAssertEqual(sync.stray, [], "onsets in the output audio that match no source beep", file: file, line: line)
        for (second, offset) in sync.offsets.sorted(by: { $0.key < $1.key }) {
            guard let reference = source.avOffsets[second] else { continue }
            XCTAssertEqual(offset * 1000, reference * 1000, accuracy: avTolerance * 1000,
                           "A/V offset (ms) at source second \(second)", file: file, line: line)
        }
    }

    /// Everything a correct cut of `ranges` shows: success, exact frames, timing, DTS order, audio.
    func assertExactCut(_ ranges: [CutRange], mode: String = "smart", file: StaticString = #filePath, line: UInt = #line) {
        assertSucceeded(mode: mode, file: file, line: line)
        guard succeeded else { return }
        assertFrames(source.indices(ranges), file: file, line: line)
        assertTiming(file: file, line: line)
        assertDTSIncreasing(file: file, line: line)
        assertAudio(file: file, line: line)
    }
}
