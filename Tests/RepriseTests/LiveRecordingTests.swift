import Foundation
import XCTest

/// Recordings as live ingests leave them (see `LiveRecording`): a reset, a reconnect, a mid-GOP
/// start, a size change, an audio hole. None is bad input: every cut, transcode and analysis
/// works on the closed-up timeline, where frames count on in file order as a player shows them.
final class LiveRecordingTests: XCTestCase {
    private func cut(_ recording: LiveRecording, _ arguments: [String], ext: String = "mp4",
                     file: StaticString = #filePath, line: UInt = #line) throws -> (Reprise.Run, LiveOutput?) {
        let made = try recording.make()
        let out = ScratchSpace.makeFolder("live-cut").appendingPathComponent("out.\(ext)")
        let run = try Reprise.run(["cut", made.url.path, "-o", out.path] + arguments + ["--json"])
        XCTAssertEqual(run.status, 0, run.transcript, file: file, line: line)
        guard run.status == 0 else { return (run, nil) }
        XCTAssertEqual(FileSnapshot.listing(out.deletingLastPathComponent()), [out.lastPathComponent], "only the output is left",
                       file: file, line: line)
        return (run, try LiveOutput(out))
    }

    private func frames(_ a: Int, _ b: Int) -> [Int] { Array(a..<b) }

    // MARK: a TS whose PTS jump back (two captures joined)

    func testTSResetSmartCutAcrossTheReset() throws {
        let (run, out) = try cut(.tsReset, ["--from", "f225", "--to", "f396"])
        try out?.assertExact(frames(225, 396))
        // The first part's whole GOP is copied; the second part (other SPS) is re-encoded, as the note says.
        XCTAssertGreaterThan(run.summary()?["copiedPackets"]?.int ?? 0, 0, "nothing copied")
        XCTAssertTrue(run.transcriptText.contains("parameter sets change"), run.transcript)
    }

    func testTSResetExactAndKeyframeModes() throws {
        let (_, exact) = try cut(.tsReset, ["--from", "f280", "--to", "f331", "--mode", "exact"])
        try exact?.assertExact(frames(280, 331))
        // Keyframe mode copies whole GOPs around the range: a GOP boundary on each side of it.
        let (_, keyframe) = try cut(.tsReset, ["--from", "f250", "--to", "f290", "--mode", "keyframe"])
        let got = try XCTUnwrap(keyframe).video.indices.compactMap { $0 }
        XCTAssertEqual(got, frames(240, 300))
    }

    func testTSResetToTSOutput() throws {
        let (_, out) = try cut(.tsReset, ["--from", "f200", "--to", "f420"], ext: "ts")
        let output = try XCTUnwrap(out)
        XCTAssertEqual(output.video.indices.compactMap { $0 }, frames(200, 420))
        XCTAssertEqual(output.decodeErrors, "")
        XCTAssertEqual(output.packets.dtsViolations(), [])
    }

    /// A reel of three ranges, one on each side of the reset and one across it: one decode
    /// delay for the whole output, so no frame at a join is squeezed to a tick.
    func testReelAcrossTheResetKeepsRegularDecodeTimes() throws {
        let made = try LiveRecording.tsReset.make()
        let folder = ScratchSpace.makeFolder("live-reel")
        let segments = folder.appendingPathComponent("segments.json")
        try Data(#"[{"from": "f100", "to": "f160"}, {"from": "f280", "to": "f340"}, {"from": "f400", "to": "f461"}]"#.utf8).write(to: segments)
        let out = folder.appendingPathComponent("reel.mp4")
        let run = try Reprise.run(["cut", made.url.path, "-o", out.path, "--segments", segments.path, "--json"])
        XCTAssertEqual(run.status, 0, run.transcript)
        try LiveOutput(out).assertExact(frames(100, 160) + frames(280, 340) + frames(400, 461))
        XCTAssertEqual(run.summary()?["ranges"]?.array?.count, 3, "one outcome per requested range")
    }

    // MARK: an FLV with an RTMP reconnect (new sequence headers, other settings, 44.1 kHz stereo after)

    func testFLVReconnectSmartAndExact() throws {
        let (_, smart) = try cut(.flvReconnect, ["--from", "f225", "--to", "f396"])
        try smart?.assertExact(frames(225, 396))
        let (_, exact) = try cut(.flvReconnect, ["--from", "f290", "--to", "f480", "--mode", "exact"])
        try exact?.assertExact(frames(290, 480))
        // Wholly after the reconnect: decoded with the second sequence header.
        let (_, after) = try cut(.flvReconnect, ["--from", "f455", "--to", "f560"])
        try after?.assertExact(frames(455, 560))
    }

    func testFLVReconnectTranscodeLadderAndHighlights() throws {
        let made = try LiveRecording.flvReconnect.make()
        let folder = ScratchSpace.makeFolder("live-render")
        let out = folder.appendingPathComponent("replay.mp4")
        let transcode = try Reprise.run(["transcode", made.url.path, "--profile", "long-form-720p", "-o", out.path, "--json"])
        XCTAssertEqual(transcode.status, 0, transcode.transcript)
        try LiveOutput(out).assertExact(frames(0, 600))
        XCTAssertTrue(transcode.transcriptText.contains("audio changes to 44100 Hz"), transcode.transcript)

        let ladder = folder.appendingPathComponent("ladder")
        let run = try Reprise.run(["ladder", made.url.path, "-o", ladder.path, "--ladder", "ladder-overseas", "--json"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let rung = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: ladder.path)
            .filter { $0.hasSuffix("p") }.sorted().first, "no rung")
        let playlist = try String(contentsOf: ladder.appendingPathComponent(rung).appendingPathComponent("index.m3u8"), encoding: .utf8)
        let seconds = playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }
            .compactMap { Double($0.dropFirst(8).split(separator: ",")[0]) }.reduce(0, +)
        XCTAssertEqual(seconds, 20, accuracy: 0.05, "the ladder covers the whole closed-up recording")

        let plan = try Reprise.run(["highlights", made.url.path, "-o", folder.appendingPathComponent("hl").path, "--plan-only", "--json"])
        XCTAssertEqual(plan.status, 0, plan.transcript)
        XCTAssertEqual(plan.summary()?["duration"]?.double ?? 0, 20, accuracy: 0.1, plan.transcript)
    }

    // MARK: a TS capture that begins mid-GOP

    func testMidGOPCaptureCutsFromZeroAndInside() throws {
        let made = try LiveRecording.midGOP.make()
        XCTAssertGreaterThan(made.firstFrame, 0)
        XCTAssertNotEqual(made.firstFrame % 30, 1, "fixture should begin between keyframes")
        // From 0: the first frame that exists is the first decodable one.
        let (run, fromZero) = try cut(.midGOP, ["--from", "0", "--to", "f45"])
        try fromZero?.assertExact(frames(made.firstFrame, made.firstFrame + 45))
        XCTAssertTrue(run.transcriptText.contains("begins mid-GOP"), run.transcript)
        let (_, inside) = try cut(.midGOP, ["--from", "f10", "--to", "f100", "--mode", "exact"])
        try inside?.assertExact(frames(made.firstFrame + 10, made.firstFrame + 100))
        let out = ScratchSpace.makeFolder("live-midgop").appendingPathComponent("all.mp4")
        let transcode = try Reprise.run(["transcode", made.url.path, "--profile", "long-form-720p", "-o", out.path])
        XCTAssertEqual(transcode.status, 0, transcode.transcript)
        try LiveOutput(out).assertExact(Array(made.frames))
    }

    // MARK: a picture-size change at 10 s

    func testSizeChangeGivesOneOutputSize() throws {
        let (run, out) = try cut(.sizeChange, ["--from", "f240", "--to", "f390"])
        let output = try XCTUnwrap(out)
        try output.assertExact(frames(240, 390))
        XCTAssertEqual(output.video.video.width, 320)
        XCTAssertEqual(output.video.video.height, 240)
        XCTAssertTrue(run.transcriptText.contains("scaled to the output's 320x240"), run.transcript)

        let made = try LiveRecording.sizeChange.make()
        let t = ScratchSpace.makeFolder("live-size").appendingPathComponent("t.mp4")
        let transcode = try Reprise.run(["transcode", made.url.path, "--profile", "long-form-720p", "-o", t.path, "--from", "f200", "--to", "f400"])
        XCTAssertEqual(transcode.status, 0, transcode.transcript)
        try LiveOutput(t).assertExact(frames(200, 400))
    }

    // MARK: audio that stops for 1.2 s

    func testAudioHoleIsSilenceAndSyncHoldsAfterIt() throws {
        let (_, smart) = try cut(.audioHole, ["--from", "f60", "--to", "f250"])
        try smart?.assertExact(frames(60, 250), silent: [5])
        let made = try LiveRecording.audioHole.make()
        let t = ScratchSpace.makeFolder("live-hole").appendingPathComponent("t.mp4")
        let transcode = try Reprise.run(["transcode", made.url.path, "--profile", "long-form-720p", "-o", t.path])
        XCTAssertEqual(transcode.status, 0, transcode.transcript)
        try LiveOutput(t).assertExact(frames(0, 300), silent: [5])
    }

    // MARK: keyframes behind an AUD and twelve SEI units, four slices a picture

    func testKeyframesBehindManySEIUnitsAreFound() throws {
        let (run, out) = try cut(.manySEI, ["--from", "f31", "--to", "f200"])
        try out?.assertExact(frames(31, 200))
        XCTAssertEqual(run.summary()?["copiedPackets"]?.int, 120, "the four whole GOPs inside (f60–f179) are copied")
        let probe = try XCTUnwrap(try Reprise.run(["probe", try LiveRecording.manySEI.make().url.path, "--json"]).json())
        XCTAssertEqual(probe["keyframes"]?.int, 10)
        XCTAssertEqual(probe["frames"]?.int, 300)
    }

    // MARK: audio that starts 1.6 s after the video

    func testAudioThatStartsLateIsSilenceBeforeItAndInSyncAfter() throws {
        let (_, smart) = try cut(.audioLate, ["--from", "0", "--to", "f150"])
        let output = try XCTUnwrap(smart)
        try output.assertExact(frames(0, 150), silent: [1])
        XCTAssertEqual(try XCTUnwrap(output.audio).start, 0, accuracy: 0.001, "the output's audio covers the video from its start")
        let made = try LiveRecording.audioLate.make()
        let t = ScratchSpace.makeFolder("live-late").appendingPathComponent("t.mp4")
        let transcode = try Reprise.run(["transcode", made.url.path, "--profile", "long-form-720p", "-o", t.path, "--to", "f150"])
        XCTAssertEqual(transcode.status, 0, transcode.transcript)
        try LiveOutput(t).assertExact(frames(0, 150), silent: [1])
    }

    // MARK: probe

    func testProbeListsDiscontinuitiesUndecodableFramesAndAudioGaps() throws {
        func probe(_ r: LiveRecording) throws -> JSONValue {
            let run = try Reprise.run(["probe", try r.make().url.path, "--json"])
            XCTAssertEqual(run.status, 0, run.transcript)
            return try XCTUnwrap(run.json(), run.transcript)
        }
        let reset = try probe(.tsReset)
        let jumps = try XCTUnwrap(reset["discontinuities"]?.array)
        XCTAssertEqual(jumps.count, 1)
        XCTAssertEqual(jumps.first?["kind"]?.string, "backward-jump")
        XCTAssertEqual(jumps.first?["position"]?.double ?? 0, 10.02, accuracy: 0.03)
        XCTAssertEqual(jumps.first?["parametersChanged"]?.bool, true)
        XCTAssertEqual(reset["duration"]?.double ?? 0, 20.02, accuracy: 0.05)
        XCTAssertEqual(reset["frames"]?.int, 600)

        let reconnect = try probe(.flvReconnect)
        XCTAssertEqual(reconnect["discontinuities"]?.array?.count, 1)
        XCTAssertEqual(reconnect["frames"]?.int, 600)

        let mid = try probe(.midGOP)
        let undecodable = try XCTUnwrap(mid["undecodableFrames"]?.array?.first)
        XCTAssertGreaterThan(undecodable["frames"]?.int ?? 0, 0)
        XCTAssertEqual(mid["frames"]?.int, 300 - (try LiveRecording.midGOP.make().firstFrame))

        let hole = try probe(.audioHole)
        let gap = try XCTUnwrap(hole["audioGaps"]?.array?.first)
        XCTAssertEqual(gap["start"]?.double ?? 0, 4.4, accuracy: 0.06)
        XCTAssertEqual(gap["length"]?.double ?? 0, 1.2, accuracy: 0.06)
    }

    // MARK: damaged packets

    /// Bit errors in an FLV: transcode decodes through them with concealment and makes the whole output.
    func testDamagedFLVTranscodesWhole() throws {
        let source = try Data(contentsOf: try LiveRecording.flvReconnect.make().url)
        var bytes = [UInt8](source.prefix(source.count / 2))
        var rng = SplitMix(seed: 7)
        for _ in 0..<200 { bytes[Int(rng.next() % UInt64(bytes.count - 20_000)) + 20_000] ^= 0xFF }
        let folder = ScratchSpace.makeFolder("live-damaged")
        let input = folder.appendingPathComponent("damaged.flv")
        try Data(bytes).write(to: input)
        let out = folder.appendingPathComponent("t.mp4")
        let run = try Reprise.run(["transcode", input.path, "--profile", "long-form-720p", "-o", out.path, "--json"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let frames = try VideoReadback.read(out).frames.count
        let probe = try XCTUnwrap(try Reprise.run(["probe", input.path, "--json"]).json())
        XCTAssertEqual(frames, probe["frames"]?.int, "every frame of the recording is in the output")
    }

    // MARK: the index cache

    /// The cache lives under XDG_CACHE_HOME, never beside the recording (a watch folder may be
    /// read-only or watched by other tools).
    func testIndexCacheIsNotWrittenBesideTheRecording() throws {
        let made = try LiveRecording.tsReset.make()
        let folder = ScratchSpace.makeFolder("live-cache")
        let copy = folder.appendingPathComponent("rec.ts")
        try FileManager.default.copyItem(at: made.url, to: copy)
        let cache = ScratchSpace.makeFolder("xdg-cache")
        let run = try Reprise.run(["probe", copy.path], environment: ["XDG_CACHE_HOME": cache.path])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertEqual(FileSnapshot.listing(folder), ["rec.ts"])
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("reprise/index").path)
        XCTAssertEqual(cached.count, 1)
        XCTAssertTrue(cached.first?.hasSuffix(".reprise-index") ?? false)
    }
}

