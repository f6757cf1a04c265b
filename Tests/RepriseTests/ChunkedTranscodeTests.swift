import Foundation
import XCTest
@testable import RepriseTranscode

/// Chunk planning: ranges on the output's keyframe grid, pure arithmetic.
final class ChunkPlanTests: XCTestCase {
    func spans(_ chunks: [ChunkPlan.Chunk]) -> [[Double]] { chunks.map { [$0.start, $0.end] } }

    func testChunksFollowTheGridAndTheLastEndsAtTheEnd() throws {
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 12, gopSeconds: 2, chunkSeconds: 4)), [[0, 4], [4, 8], [8, 12]])
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 14.5, gopSeconds: 2, chunkSeconds: 4)), [[0, 4], [4, 8], [8, 12], [12, 14.5]])
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 14, gopSeconds: 2, chunkSeconds: 4)), [[0, 4], [4, 8], [8, 12], [12, 14]])
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 8, gopSeconds: 2, chunkSeconds: 2)), [[0, 2], [2, 4], [4, 6], [6, 8]])
        // A remainder shorter than one GOP joins the chunk before it.
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 13, gopSeconds: 2, chunkSeconds: 4)), [[0, 4], [4, 8], [8, 13]])
        XCTAssertEqual(spans(try ChunkPlan.chunks(duration: 3, gopSeconds: 2, chunkSeconds: 4)), [[0, 3]])
        XCTAssertEqual(try ChunkPlan.chunks(duration: 12, gopSeconds: 2, chunkSeconds: 4).map(\.index), [0, 1, 2])
        // Decimal grids: starts are whole GOPs, not sums of rounded chunk lengths.
        let fine = try ChunkPlan.chunks(duration: 4.2, gopSeconds: 0.1, chunkSeconds: 1.3)
        XCTAssertEqual(fine.map(\.start), [0, 13, 26, 39].map { Double($0) * 0.1 })
        XCTAssertEqual(fine.last?.end, 4.2)
    }

    func testChunkSecondsMustBeAPositiveMultipleOfTheGOP() {
        for bad in [5.0, 0, -4, 1, .nan] {
            let e = expectError(ChunkPlan.Failure.self) { try ChunkPlan.chunks(duration: 12, gopSeconds: 2, chunkSeconds: bad) }
            XCTAssertTrue(e?.description.contains("is not a positive multiple of gop_seconds 2") ?? false, "\(bad): \(String(describing: e))")
            XCTAssertFalse(e?.description.contains("\n") ?? true)
        }
        XCTAssertNotNil(expectError(ChunkPlan.Failure.self) { try ChunkPlan.chunks(duration: 0, gopSeconds: 2, chunkSeconds: 4) })
    }

    func testAChunkWindowIsOnTheGridOrEndsAtTheEnd() throws {
        XCTAssertTrue(try ChunkPlan.window(start: 4, end: 8, gopSeconds: 2, duration: 12) == (2, 4))
        XCTAssertTrue(try ChunkPlan.window(start: 8, end: 12, gopSeconds: 2, duration: 12) == (4, nil))
        XCTAssertTrue(try ChunkPlan.window(start: 8, end: 12.5, gopSeconds: 2, duration: 11.9) == (4, nil))
        let off = expectError(ChunkPlan.Failure.self) { try ChunkPlan.window(start: 3, end: 8, gopSeconds: 2, duration: 12) }
        XCTAssertTrue(off?.description.contains("not on the 2 s keyframe grid") ?? false, String(describing: off))
        let end = expectError(ChunkPlan.Failure.self) { try ChunkPlan.window(start: 4, end: 7, gopSeconds: 2, duration: 12) }
        XCTAssertTrue(end?.description.contains("neither on the 2 s keyframe grid nor the output's end") ?? false, String(describing: end))
        XCTAssertNotNil(expectError(ChunkPlan.Failure.self) { try ChunkPlan.window(start: 12, end: 14, gopSeconds: 2, duration: 12) })
    }
}

/// `transcode --chunk` / `--audio-only` and `stitch`, against the whole encode
/// (`transcode --keyframe-grid`) of the same profile.
final class ChunkedTranscodeTests: XCTestCase {
    /// 320x180 like the source (the barcode reads back unscaled), 2 s GOPs, a VBV cap.
    static let profile = """
        name: chunky
        container: mp4
        video:
          codec: h264
          width: 320
          height: 180
          quality: 24
          max_bitrate: 600k
          buffer: 600k
          gop_seconds: 2
          encoder_options:
            preset: veryfast
        audio:
          codec: aac
          bitrate: 96k
          loudness: -16
        """

    struct Chunked {
        var whole: URL
        var stitched: URL
        var parts: [URL]
        var audio: URL
        var stitch: Reprise.Run
        var runs: [TranscodeRun]
    }

    /// The whole encode, then the chunks `--chunk-plan` lists, the audio part and the stitch.
    func encode(_ fixture: Fixture, profile: String, chunkSeconds: Double, label: String,
                file: StaticString = #filePath, line: UInt = #line) throws -> Chunked? {
        let dir = try ProfileFolder.make(["chunky": profile])
        let folder = ScratchSpace.makeFolder(label)
        let whole = folder.appendingPathComponent("whole.mp4"), output = folder.appendingPathComponent("out.mp4")
        let grid = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: whole, extra: ["--keyframe-grid"], profileDirs: [dir])
        XCTAssertTrue(grid.succeeded, grid.transcript, file: file, line: line)
        let plan = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output,
                                        extra: ["--chunk-plan", String(chunkSeconds)], profileDirs: [dir])
        let chunks = plan.result?["chunks"]?.array ?? []
        XCTAssertGreaterThan(chunks.count, 1, plan.transcript, file: file, line: line)
        var runs: [TranscodeRun] = []
        var parts: [URL] = []
        for c in chunks {
            guard let start = c["start"]?.double, let end = c["end"]?.double, let part = c["part"]?.string else {
                XCTFail("chunk without start, end, part: \(plan.transcript)", file: file, line: line); return nil
            }
            let run = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output,
                                           extra: ["--chunk", "\(start),\(end)"], profileDirs: [dir])
            XCTAssertTrue(run.succeeded, run.transcript, file: file, line: line)
            XCTAssertEqual(run.entry("chunky")?["output"]?.string, part, "the part the plan named", file: file, line: line)
            runs.append(run)
            parts.append(URL(fileURLWithPath: part))
        }
        let audioRun = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output, extra: ["--audio-only"], profileDirs: [dir])
        XCTAssertTrue(audioRun.succeeded, audioRun.transcript, file: file, line: line)
        runs.append(audioRun)
        guard let audio = audioRun.entry("chunky")?["output"]?.string, grid.succeeded, runs.allSatisfy(\.succeeded) else { return nil }
        XCTAssertEqual(audio, plan.result?["audioPart"]?.string, file: file, line: line)
        let stitch = try Reprise.run(["stitch"] + parts.map(\.path) + ["--audio", audio, "-o", output.path, "--json"])
        XCTAssertEqual(stitch.status, 0, stitch.output.stderrText, file: file, line: line)
        XCTAssertEqual(stitch.summary()?["outputs"]?.array?.first?["output"]?.string, output.path, file: file, line: line)
        guard stitch.status == 0 else { return nil }
        return Chunked(whole: whole, stitched: output, parts: parts, audio: URL(fileURLWithPath: audio), stitch: stitch, runs: runs)
    }

    /// 12 s, 2 s GOPs, 4 s chunks: the stitched file holds exactly the whole encode's frames at
    /// the same times (no doubled or missing frame at a join), the same IDR times, the same audio
    /// packets, a bitrate within 3 %, and the VBV cap holds across the joins.
    func testStitchedChunksAreTheWholeEncode() throws {
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        let fixture = try Fixtures.get(spec)
        guard let c = try encode(fixture, profile: Self.profile, chunkSeconds: 4, label: "chunks-cfr") else { return }
        XCTAssertEqual(c.parts.count, 3)

        let whole = try VideoReadback.read(c.whole), stitched = try VideoReadback.read(c.stitched)
        XCTAssertEqual(stitched.indices, Array(0..<spec.frameCount), "stitched frames (barcode)")
        XCTAssertEqual(stitched.indices, whole.indices)
        XCTAssertEqual(stitched.relativeTimes, whole.relativeTimes)

        let wholePackets = try FFprobe.packets(c.whole), stitchedPackets = try FFprobe.packets(c.stitched)
        let keys = stitchedPackets.filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted()
        XCTAssertEqual(keys, [0, 2, 4, 6, 8, 10], "IDRs on the 2 s grid")
        XCTAssertEqual(keys, wholePackets.filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted())
        XCTAssertEqual(stitchedPackets.map(\.dts), wholePackets.map(\.dts), "decode times as the whole encode's")
        let keyPackets = try FFprobe.packets(c.stitched, data: true).filter(\.isKeyframe)
        XCTAssertEqual(keyPackets.count, 6)
        for (n, p) in keyPackets.enumerated() {
            let nals = NALUnits.split(FFprobe.bytes(fromHexDump: p.data ?? ""), .lengthPrefixed)
            XCTAssertTrue(nals.contains { NALUnits.Codec.h264.type(of: $0) == 5 }, "keyframe \(n) is not an IDR")
        }

        // The audio is the whole encode's, packet for packet.
        let wholeAudio = try FFprobe.packets(c.whole, stream: "a:0")
        let stitchedAudio = try FFprobe.packets(c.stitched, stream: "a:0")
        XCTAssertFalse(wholeAudio.isEmpty)
        XCTAssertEqual(stitchedAudio.map(\.pts), wholeAudio.map(\.pts))
        XCTAssertEqual(stitchedAudio.map(\.data_hash), wholeAudio.map(\.data_hash))

        // Packets are the parts' bytes.
        var partHashes: [String?] = []
        for part in c.parts { partHashes += try FFprobe.packets(part).map(\.data_hash) }
        XCTAssertEqual(try FFprobe.packets(c.stitched).map(\.data_hash), partHashes)

        let (a, b) = (try fileSize(c.whole), try fileSize(c.stitched))
        XCTAssertEqual(Double(b) / Double(a), 1, accuracy: 0.03, "stitched \(b) bytes vs whole \(a)")
        // 600 kb/s with a 600 kb buffer: no 1 s window (joins included) holds more than both.
        XCTAssertLessThanOrEqual(try TranscodedOutput.read(c.stitched).peakBits(window: 1), 1_200_000)
        XCTAssertEqual(try DecodeCheck.errors(c.stitched), "")
        XCTAssertEqual(try FFprobe.describe(c.stitched).format?.durationSeconds ?? 0, 12, accuracy: 0.001)
    }

    /// A VFR source (30, 15, 30 fps) under a 20 fps cap: the chunks' frame-rate conversion picks
    /// the same source frame for every output frame as the whole encode does. The join at 4.5 s
    /// falls between two 15 fps source frames, so the chunk's first output frame shows the
    /// source frame before the join (4.467 s): a chunk read from its first frame would miss it.
    func testFrameRateConversionPicksTheSameFramesInChunks() throws {
        let fixture = try Fixtures.get(.h264MP4VFR)
        let profile = Self.profile.replacingOccurrences(of: "  height: 180\n", with: "  height: 240\n  max_fps: 20\n")
            .replacingOccurrences(of: "gop_seconds: 2", with: "gop_seconds: 1.5")
        guard let c = try encode(fixture, profile: profile, chunkSeconds: 4.5, label: "chunks-vfr") else { return }
        XCTAssertEqual(c.parts.count, 2)
        let whole = try VideoReadback.read(c.whole), stitched = try VideoReadback.read(c.stitched)
        XCTAssertEqual(whole.frames.count, 180, "9 s at 20 fps")
        XCTAssertFalse(whole.indices.contains(nil))
        XCTAssertEqual(stitched.indices, whole.indices)
        XCTAssertEqual(stitched.relativeTimes, whole.relativeTimes)
        XCTAssertEqual(try FFprobe.packets(c.stitched).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted(), [0, 1.5, 3, 4.5, 6, 7.5])
    }

    /// An RTMP reconnect at 10 s (timestamps restart, new sequence headers, the audio turns
    /// 44.1 kHz stereo) inside the chunk [6, 12): the chunks follow the closed-up timeline, so
    /// the stitched file is still the whole encode, frames and audio packets alike.
    func testChunksAcrossAReconnect() throws {
        let live = try LiveRecording.flvReconnect.make()
        let profile = Self.profile.replacingOccurrences(of: "  height: 180\n", with: "  height: 240\n")
        guard let c = try encode(Fixture(spec: LiveRecording.base, url: live.url), profile: profile, chunkSeconds: 6,
                                 label: "chunks-flv") else { return }
        XCTAssertEqual(c.parts.count, 4)
        let whole = try VideoReadback.read(c.whole), stitched = try VideoReadback.read(c.stitched)
        XCTAssertEqual(whole.indices, Array(live.frames))
        XCTAssertEqual(stitched.indices, whole.indices)
        XCTAssertEqual(stitched.relativeTimes, whole.relativeTimes)
        let keys = { (url: URL) in try FFprobe.packets(url).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted() }
        XCTAssertEqual(try keys(c.stitched), try keys(c.whole))
        let wholeAudio = try FFprobe.packets(c.whole, stream: "a:0")
        XCTAssertFalse(wholeAudio.isEmpty)
        XCTAssertEqual(try FFprobe.packets(c.stitched, stream: "a:0").map(\.data_hash), wholeAudio.map(\.data_hash))
    }

    /// Costly content (fresh noise every frame) under a binding cap: no GOP-long window of the
    /// stitched file, joins included, holds more than max_bitrate × window + buffer, as for the
    /// whole encode; the cap binds (the whole encode's rate sits near it).
    func testRateControlHoldsTheCapAcrossJoins() throws {
        let fixture = try Fixtures.get(FixtureSpec(seconds: 8, width: 320, height: 180, layout: .bands, noise: true))
        let profile = Self.profile.replacingOccurrences(of: "quality: 24", with: "quality: 16")
            .replacingOccurrences(of: "max_bitrate: 600k", with: "max_bitrate: 400k")
            .replacingOccurrences(of: "buffer: 600k", with: "buffer: 400k")
        guard let c = try encode(fixture, profile: profile, chunkSeconds: 2, label: "chunks-vbv") else { return }
        XCTAssertEqual(c.parts.count, 4)
        let whole = try TranscodedOutput.read(c.whole), stitched = try TranscodedOutput.read(c.stitched)
        let rate = Double(try fileSize(c.whole)) * 8 / 8
        XCTAssertGreaterThan(rate, 300_000, "the cap does not bind: \(rate) b/s")
        for window in [1.0, 2.0] {
            let bound = 400_000 * window + 400_000
            XCTAssertLessThanOrEqual(whole.peakBits(window: window), bound, "whole, \(window) s")
            XCTAssertLessThanOrEqual(stitched.peakBits(window: window), bound, "stitched, \(window) s")
        }
        XCTAssertEqual(stitched.frameCount, whole.frameCount)
    }

    /// Parts that leave a gap or overlap are refused with one line naming the part; nothing is written.
    func testStitchRefusesAGapOrAnOverlap() throws {
        let fixture = try Fixtures.get(FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true))
        let dir = try ProfileFolder.make(["chunky": Self.profile])
        let folder = ScratchSpace.makeFolder("chunks-gap")
        let output = folder.appendingPathComponent("out.mp4")
        var parts: [String: String] = [:]
        for chunk in ["0,4", "2,6", "6,8"] {
            let run = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output, extra: ["--chunk", chunk], profileDirs: [dir])
            XCTAssertTrue(run.succeeded, run.transcript)
            parts[chunk] = run.entry("chunky")?["output"]?.string
        }
        guard let a = parts["0,4"], let b = parts["2,6"], let c = parts["6,8"] else { return }
        for (list, part, what) in [([a, c], c, "a gap of 2.000000 s"), ([a, b], b, "an overlap of 2.000000 s")] {
            let run = try Reprise.run(["stitch"] + list + ["-o", output.path])
            XCTAssertNotEqual(run.status, 0)
            XCTAssertEqual(run.stderrLines.count, 1, run.output.stderrText)
            XCTAssertTrue(run.stderrLines.first?.hasPrefix("reprise: error: \(part): ") ?? false, run.output.stderrText)
            XCTAssertTrue(run.output.stderrText.contains(what), run.output.stderrText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        }
        // The whole recording's audio under a third of its video: another output's audio.
        let audioRun = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output, extra: ["--audio-only"], profileDirs: [dir])
        XCTAssertTrue(audioRun.succeeded, audioRun.transcript)
        if let audio = audioRun.entry("chunky")?["output"]?.string {
            let run = try Reprise.run(["stitch", a, "--audio", audio, "-o", output.path])
            XCTAssertNotEqual(run.status, 0)
            XCTAssertEqual(run.stderrLines, ["reprise: error: \(audio): lasts 12.000 s but the video parts 4.000 s: not the audio of this output"])
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        }
        // The parts are in the hidden parts folder beside the output, nothing else hidden.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }, [".reprise-parts"], "no partial file left")
        let partsFolder = folder.appendingPathComponent(".reprise-parts")
        XCTAssertEqual(Set([a, b, c].map { ($0 as NSString).deletingLastPathComponent }), [partsFolder.path], "the parts are in .reprise-parts")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: partsFolder.path).filter { $0.hasPrefix(".") }, [], "no partial part left")

        let off = try TranscodeRun.run(fixture.url, profiles: ["chunky"], output: output, extra: ["--chunk", "3,6"], profileDirs: [dir])
        XCTAssertNotEqual(off.status, 0)
        XCTAssertTrue(off.run.output.stderrText.contains("chunk start 3 s is not on the 2 s keyframe grid"), off.transcript)
    }

    func fileSize(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
    }
}
