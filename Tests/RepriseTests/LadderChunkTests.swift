import Foundation
import XCTest
@testable import RepriseHLS
@testable import RepriseTranscode
import RepriseProfiles

/// A ladder made in chunks (`ladder --chunk` per stretch of the segment grid, `--audio-only`,
/// `stitch` of the part folders) against the same ladder made whole: per rung the same segment
/// files, playlists, init segment, packet times and IDR grid, every source frame once across the
/// joins, the audio rendition byte for byte, and the bitrate within 3 %. The stitch refuses a gap.
final class LadderChunkTests: XCTestCase {
    static let spec = FixtureSpec(seconds: 24, width: 320, height: 180, audioBed: true)
    static let ladderFile = """
        name: ladder-chunky
        format: fmp4
        segment_seconds: 2
        gop_seconds: 2
        reuse: never
        video: {codec: h264, max_fps: 30, encoder_options: {preset: veryfast, threads: "1"}}
        rungs:
          - {width: 320, height: 180, bitrate: 400k, max_bitrate: 600k}
          - {width: 160, height: 90, bitrate: 120k, max_bitrate: 180k}
        audio: {codec: aac, bitrate: 64k}
        """

    struct Made {
        var root: URL
        var whole: URL
        var chunked: URL
        var parts: [String]
        var audioPart: String
        var wholeResult: JSONValue?
        var stitchResult: JSONValue?
    }

    nonisolated(unsafe) static var made: Made?
    static let lock = NSLock()

    /// The whole ladder and the chunked one, made once for the class.
    static func make() throws -> Made {
        try lock.withLock {
            if let made { return made }
            let fixture = try Fixtures.get(spec)
            let root = ScratchSpace.makeFolder("ladder-chunks")
            let profiles = root.appendingPathComponent("profiles")
            try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
            try ladderFile.write(to: profiles.appendingPathComponent("ladder-chunky.yaml"), atomically: true, encoding: .utf8)
            let common = ["--ladder", "chunky", "--profile-dir", profiles.path, "--json"]
            func run(_ args: [String]) throws -> Reprise.Run {
                let r = try Reprise.run(args, timeout: 600)
                guard r.status == 0 else { throw SubprocessError(description: "reprise \(args.joined(separator: " ")) failed:\n\(r.transcript)") }
                return r
            }
            let whole = root.appendingPathComponent("whole/hls-chunky")
            try FileManager.default.createDirectory(at: whole.deletingLastPathComponent(), withIntermediateDirectories: true)
            let wholeRun = try run(["ladder", fixture.url.path, "-o", whole.path] + common)

            let chunked = root.appendingPathComponent("chunked/hls-chunky")
            try FileManager.default.createDirectory(at: chunked.deletingLastPathComponent(), withIntermediateDirectories: true)
            let plan = try run(["ladder", fixture.url.path, "-o", chunked.path, "--chunk-plan", "8"] + common).summary()
            let chunks = plan?["chunks"]?.array ?? []
            var parts: [String] = []
            for c in chunks {
                let start = c["start"]?.double ?? -1, end = c["end"]?.double ?? -1
                let result = try run(["ladder", fixture.url.path, "-o", chunked.path, "--chunk", "\(start),\(end)"] + common).summary()
                guard let part = result?["output"]?.string, part == c["part"]?.string else {
                    throw SubprocessError(description: "the chunk [\(start), \(end)) was written to \(result?["output"]?.string ?? "-"), not its planned \(c["part"]?.string ?? "-")")
                }
                parts.append(part)
            }
            let audio = try run(["ladder", fixture.url.path, "-o", chunked.path, "--audio-only"] + common).summary()
            let audioPart = audio?["output"]?.string ?? ""
            let stitch = try run(["stitch"] + parts + ["--audio", audioPart, "-o", chunked.path, "--json"]).summary()
            let m = Made(root: root, whole: whole, chunked: chunked, parts: parts, audioPart: audioPart,
                         wholeResult: wholeRun.summary(), stitchResult: stitch)
            made = m
            return m
        }
    }

    func testChunkedLadderIsTheWholeLaddersSegments() throws {
        let m = try LadderChunkTests.make()
        XCTAssertEqual(m.parts.map { ($0 as NSString).lastPathComponent },
                       ["hls-chunky.chunk-000000000-000008000", "hls-chunky.chunk-000008000-000016000", "hls-chunky.chunk-000016000-000024000"])
        XCTAssertEqual((m.audioPart as NSString).lastPathComponent, "hls-chunky.chunk-audio")
        let partsFolder = m.chunked.deletingLastPathComponent().appendingPathComponent(".reprise-parts").path
        XCTAssertEqual(Set((m.parts + [m.audioPart]).map { ($0 as NSString).deletingLastPathComponent }), [partsFolder],
                       "the parts are in the hidden parts folder beside the ladder")
        let rungs = (m.wholeResult?["rungs"]?.array ?? []).compactMap { $0["name"]?.string }
        XCTAssertEqual(rungs, ["180p", "90p"])
        let fm = FileManager.default
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: m.chunked.path).sorted(), try fm.contentsOfDirectory(atPath: m.whole.path).sorted())

        for rung in rungs {
            let w = m.whole.appendingPathComponent(rung), c = m.chunked.appendingPathComponent(rung)
            let names = try fm.contentsOfDirectory(atPath: w.path).sorted()
            XCTAssertEqual(try fm.contentsOfDirectory(atPath: c.path).sorted(), names, "\(rung): the same files")
            XCTAssertEqual(names.filter { $0.hasSuffix(".m4s") }.count, 12, "\(rung): 12 segments of 2 s")
            // Playlists: the same segments, durations and header; the init segment byte for byte.
            XCTAssertEqual(try String(contentsOf: c.appendingPathComponent("index.m3u8"), encoding: .utf8),
                           try String(contentsOf: w.appendingPathComponent("index.m3u8"), encoding: .utf8), "\(rung): media playlist")
            XCTAssertEqual(try Data(contentsOf: c.appendingPathComponent("init.mp4")), try Data(contentsOf: w.appendingPathComponent("init.mp4")),
                           "\(rung): init segment")
            let iframes = try XCTUnwrap(MediaPlaylist.parse(try String(contentsOf: c.appendingPathComponent("iframes.m3u8"), encoding: .utf8)))
            XCTAssertEqual(iframes.segments.map(\.uri), names.filter { $0.hasSuffix(".m4s") })

            // Every packet at the whole ladder's times; IDRs on the same 2 s grid; no frame doubled
            // or missing at a join.
            let wp = try FFprobe.packets(w.appendingPathComponent("index.m3u8"))
            let cp = try FFprobe.packets(c.appendingPathComponent("index.m3u8"))
            XCTAssertEqual(cp.count, LadderChunkTests.spec.frameCount, "\(rung): frame count")
            XCTAssertEqual(cp.map(\.pts), wp.map(\.pts), "\(rung): pts")
            XCTAssertEqual(cp.map(\.dts), wp.map(\.dts), "\(rung): dts")
            XCTAssertEqual(cp.map(\.isKeyframe), wp.map(\.isKeyframe), "\(rung): keyframes")
            let pts = cp.compactMap(\.ptsSeconds).sorted()
            let first = try XCTUnwrap(pts.first)
            let steps = zip(pts, pts.dropFirst()).map { $1 - $0 }
            XCTAssertEqual(steps.count, LadderChunkTests.spec.frameCount - 1)
            XCTAssertLessThan(abs((steps.max() ?? 0) - 1.0 / 30), 0.002, "\(rung): a gap at a join")
            XCTAssertGreaterThan(steps.min() ?? 0, 1.0 / 30 - 0.002, "\(rung): a doubled frame at a join")
            let keys = cp.filter(\.isKeyframe).compactMap(\.ptsSeconds).map { ($0 - first) }
            XCTAssertEqual(keys.map { ($0 * 1000).rounded() / 1000 }, stride(from: 0.0, to: 24, by: 2).map { $0 }, "\(rung): IDR grid")

            // Bitrate within 3 % of the whole encode's.
            func average(_ v: JSONValue?) -> Double? { v?["rungs"]?.array?.first { $0["name"]?.string == rung }?["videoAverageBitrate"]?.double }
            let wholeRate = try XCTUnwrap(average(m.wholeResult)), chunkRate = try XCTUnwrap(average(m.stitchResult))
            print(String(format: "%@: video %.0f b/s chunked, %.0f b/s whole (%+.2f %%)", rung, chunkRate, wholeRate, (chunkRate / wholeRate - 1) * 100))
            XCTAssertEqual(chunkRate / wholeRate, 1, accuracy: 0.03, "\(rung): \(chunkRate) b/s chunked, \(wholeRate) b/s whole")
        }
        // Every source frame once, in order, across both joins (barcode of the full-size rung).
        let top = try VideoReadback.read(m.chunked.appendingPathComponent("180p/index.m3u8"))
        XCTAssertEqual(top.indices, Array(0..<LadderChunkTests.spec.frameCount))
        XCTAssertEqual(try DecodeCheck.errors(m.chunked.appendingPathComponent("master.m3u8")), "")

        // The audio rendition, file for file.
        let wa = m.whole.appendingPathComponent("audio"), ca = m.chunked.appendingPathComponent("audio")
        let audioNames = try fm.contentsOfDirectory(atPath: wa.path).sorted()
        XCTAssertFalse(audioNames.isEmpty)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: ca.path).sorted(), audioNames)
        for name in audioNames {
            XCTAssertEqual(try Data(contentsOf: ca.appendingPathComponent(name)), try Data(contentsOf: wa.appendingPathComponent(name)), "audio/\(name)")
        }
        // The master: the same variants, bandwidths from the chunked segments.
        let master = try String(contentsOf: m.chunked.appendingPathComponent("master.m3u8"), encoding: .utf8)
        XCTAssertEqual(master.components(separatedBy: "#EXT-X-STREAM-INF:").count - 1, 2)
        XCTAssertTrue(master.contains("URI=\"audio/index.m3u8\""))
        XCTAssertEqual(m.stitchResult?["rungs"]?.array?.map { $0["frames"]?.int ?? 0 }, [720, 720])
    }

    /// A stitch without the middle part, with a part that is not there, without the last part, or
    /// with a part whose init segment differs is refused in one line naming the part, and writes nothing.
    func testTheStitchRefusesAGap() throws {
        let m = try LadderChunkTests.make()
        let target = m.root.appendingPathComponent("refused/hls-chunky")
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let gap = try Reprise.run(["stitch", m.parts[0], m.parts[2], "--audio", m.audioPart, "-o", target.path])
        XCTAssertNotEqual(gap.status, 0)
        XCTAssertEqual(gap.stderrLines.count, 1, gap.transcript)
        XCTAssertTrue(gap.stderrLines.first?.contains(m.parts[2] + ": ") ?? false, gap.transcript)
        XCTAssertTrue(gap.stderrLines.first?.contains("gap") ?? false, gap.transcript)

        let missing = m.parts[1].replacingOccurrences(of: "chunked/", with: "elsewhere/")
        let gone = try Reprise.run(["stitch", m.parts[0], missing, m.parts[2], "-o", target.path])
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderrLines.first?.contains(missing + ": ") ?? false, gone.transcript)

        let short = try Reprise.run(["stitch", m.parts[0], m.parts[1], "-o", target.path])
        XCTAssertNotEqual(short.status, 0)
        XCTAssertTrue(short.stderrLines.first?.contains("missing") ?? false, short.transcript)
        // A part whose rung was encoded with other settings (here: another rung's init segment).
        let fm = FileManager.default
        let tampered = m.root.appendingPathComponent("tampered/" + (m.parts[1] as NSString).lastPathComponent)
        try fm.createDirectory(at: tampered.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(atPath: m.parts[1], toPath: tampered.path)
        try fm.removeItem(at: tampered.appendingPathComponent("180p/init.mp4"))
        try fm.copyItem(at: tampered.appendingPathComponent("90p/init.mp4"), to: tampered.appendingPathComponent("180p/init.mp4"))
        let other = try Reprise.run(["stitch", m.parts[0], tampered.path, m.parts[2], "-o", target.path])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderrLines.first?.contains(tampered.path + ": 180p/init.mp4 differs") ?? false, other.transcript)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target.deletingLastPathComponent().path), [], "nothing written")
    }

    /// Init segments that differ only by the leading empty edit (a later chunk's movenc writes
    /// none) are interchangeable; another media edit start (another decode delay: a frame off at
    /// the join) or any other difference (parameter sets) is not.
    func testInitSegmentsDifferingOnlyByTheEmptyEditAreInterchangeable() {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let size = UInt32(body.count + 8)
            return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + body
        }
        func be32(_ v: Int32) -> [UInt8] { let u = UInt32(bitPattern: v); return [UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u & 0xFF)] }
        /// A version-0 `elst` of (segment_duration, media_time) entries at rate 1.
        func elst(_ entries: [(Int32, Int32)]) -> [UInt8] {
            [0, 0, 0, 0] + be32(Int32(entries.count)) + entries.flatMap { be32($0.0) + be32($0.1) + be32(1 << 16) }
        }
        func initSegment(elst: [UInt8], avcC: [UInt8]) -> [UInt8] {
            box("ftyp", Array("iso5".utf8)) + box("moov", box("mvhd", [0, 0, 0, 0]) + box("trak", box("tkhd", [1, 2]) + box("edts", box("elst", elst))
                + box("mdia", box("stsd", avcC))))
        }
        let first = initSegment(elst: elst([(66, -1), (0, 1024)]), avcC: [1, 100, 0, 30])
        let later = initSegment(elst: elst([(0, 1024)]), avcC: [1, 100, 0, 30])
        let shifted = initSegment(elst: elst([(0, 1536)]), avcC: [1, 100, 0, 30])
        let other = initSegment(elst: elst([(66, -1), (0, 1024)]), avcC: [1, 77, 0, 30])
        XCTAssertEqual(InitSegment.mediaEdits(first), [[[1024, 1 << 16]]])
        XCTAssertTrue(InitSegment.interchangeable(first, later))
        XCTAssertFalse(InitSegment.interchangeable(first, shifted), "another decode delay")
        XCTAssertFalse(InitSegment.interchangeable(first, other))
        XCTAssertFalse(InitSegment.interchangeable(first, Array(first.dropLast())), "a truncated box")
    }

    /// A recording that lost frames (as live ingest does) re-encoded with those frames missing:
    /// the fixture with every 60th frame from `phase` dropped, at its own times (VFR).
    static func droppingFrames(phase: Int, name: String) throws -> URL {
        let fixture = try Fixtures.get(spec)
        let out = ScratchSpace.makeFolder(name).appendingPathComponent("dropped.mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", "-i", fixture.url.path,
                                          "-vf", "select='not(eq(mod(n-\(phase)\\,60)\\,0))'", "-fps_mode", "vfr",
                                          "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "copy", out.path])
        return out
    }

    /// Frames dropped inside GOPs: chunks join with the whole ladder's packet times exactly (every
    /// frame once, none a frame off, as the encoders' decode delay is the same in every part).
    func testDroppedFramesInsideGOPsJoinAtTheWholeLaddersTimes() throws {
        let input = try LadderChunkTests.droppingFrames(phase: 45, name: "ladder-chunks-dropped")
        let root = input.deletingLastPathComponent()
        let profiles = root.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        try LadderChunkTests.ladderFile.write(to: profiles.appendingPathComponent("ladder-chunky.yaml"), atomically: true, encoding: .utf8)
        let common = ["--ladder", "chunky", "--profile-dir", profiles.path, "--json"]
        func run(_ args: [String]) throws -> JSONValue? {
            let r = try Reprise.run(args, timeout: 600)
            XCTAssertEqual(r.status, 0, r.transcript)
            return r.summary()
        }
        let whole = root.appendingPathComponent("whole"), chunked = root.appendingPathComponent("chunked")
        _ = try run(["ladder", input.path, "-o", whole.path] + common)
        let plan = try run(["ladder", input.path, "-o", chunked.path, "--chunk-plan", "8"] + common)
        let chunks = plan?["chunks"]?.array ?? []
        XCTAssertEqual(chunks.count, 3, "split: \(plan?["whole"]?.string ?? "")")
        var parts: [String] = []
        for c in chunks {
            parts.append(try run(["ladder", input.path, "-o", chunked.path, "--chunk", "\(c["start"]?.double ?? -1),\(c["end"]?.double ?? -1)"] + common)?["output"]?.string ?? "")
        }
        let audio = try run(["ladder", input.path, "-o", chunked.path, "--audio-only"] + common)?["output"]?.string ?? ""
        _ = try run(["stitch"] + parts + ["--audio", audio, "-o", chunked.path, "--json"])
        let source = try FFprobe.packets(input)
        XCTAssertLessThan(source.count, LadderChunkTests.spec.frameCount, "the fixture lost frames")
        for rung in ["180p", "90p"] {
            let wp = try FFprobe.packets(whole.appendingPathComponent("\(rung)/index.m3u8"))
            let cp = try FFprobe.packets(chunked.appendingPathComponent("\(rung)/index.m3u8"))
            XCTAssertEqual(cp.count, source.count, "\(rung): every frame once")
            XCTAssertEqual(cp.map(\.pts), wp.map(\.pts), "\(rung): pts")
            XCTAssertEqual(cp.map(\.dts), wp.map(\.dts), "\(rung): dts")
            XCTAssertEqual(cp.map(\.isKeyframe), wp.map(\.isKeyframe), "\(rung): keyframes")
        }
    }

    /// A frame missing at the recording's start sets a decode delay no later chunk's encoder would
    /// take: the plan keeps the ladder whole and says why, and a chunk asked for by hand is refused.
    func testAFrameMissingAtTheStartKeepsTheLadderWhole() throws {
        let input = try LadderChunkTests.droppingFrames(phase: 1, name: "ladder-chunks-dropped-start")
        let root = input.deletingLastPathComponent()
        let profiles = root.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        try LadderChunkTests.ladderFile.write(to: profiles.appendingPathComponent("ladder-chunky.yaml"), atomically: true, encoding: .utf8)
        let common = ["--ladder", "chunky", "--profile-dir", profiles.path, "--json"]
        let out = root.appendingPathComponent("hls")
        let plan = try Reprise.run(["ladder", input.path, "-o", out.path, "--chunk-plan", "8"] + common)
        XCTAssertEqual(plan.status, 0, plan.transcript)
        XCTAssertEqual(plan.summary()?["chunks"]?.array?.count, 1, plan.transcript)
        XCTAssertTrue(plan.summary()?["whole"]?.string?.contains("a frame is missing") ?? false, plan.transcript)
        let chunk = try Reprise.run(["ladder", input.path, "-o", out.path, "--chunk", "8,16"] + common)
        XCTAssertNotEqual(chunk.status, 0)
        XCTAssertTrue(chunk.stderrLines.first?.contains("join a frame off") ?? false, chunk.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + ".chunk-000008000-000016000"), "nothing written")
    }

    // MARK: MPEG-TS ladders: the stitch renumbers the continuity counters at each join.

    /// Synthetic packets: a later part's counters (restarting at 0, with an adaptation-only packet
    /// that repeats its counter) are shifted per PID to continue the part before; a PID new in the
    /// part and null packets are left as they are; bytes that aren't whole packets are refused.
    func testTSContinuityContinuesEachPIDAcrossAJoin() throws {
        /// A 188-byte packet: PID, counter, adaptation_field_control (1 payload, 2 adaptation only).
        func packet(_ pid: UInt16, _ cc: UInt8, control: UInt8 = 1) -> [UInt8] {
            [0x47, UInt8(pid >> 8), UInt8(pid & 0xFF), control << 4 | cc] + [UInt8](repeating: 0xFF, count: 184)
        }
        func counters(_ bytes: [UInt8], _ pid: UInt16) -> [UInt8] {
            stride(from: 0, to: bytes.count, by: 188).map { TSContinuity.header(bytes, $0) }.filter { $0.pid == pid }.map(\.counter)
        }
        var continuity = TSContinuity()
        var first = packet(0, 0) + packet(0x100, 0) + packet(0x100, 1) + packet(0x100, 2) + packet(0x1FFF, 0)
        let original = first
        XCTAssertFalse(try continuity.renumber(&first), "the first part is left as written")
        XCTAssertEqual(first, original)
        continuity.startPart()
        // The next file of the same muxer continues already: unchanged.
        var more = packet(0x100, 3) + packet(0x100, 4)
        XCTAssertFalse(try continuity.renumber(&more))
        continuity.startPart()
        var later = packet(0, 0) + packet(0x100, 15, control: 2) + packet(0x100, 0) + packet(0x100, 1) + packet(0x101, 7) + packet(0x1FFF, 9)
        XCTAssertTrue(try continuity.renumber(&later))
        XCTAssertEqual(counters(later, 0), [1])
        XCTAssertEqual(counters(later, 0x100), [4, 5, 6], "adaptation-only repeats 4, then 5, 6")
        XCTAssertEqual(counters(later, 0x101), [7], "a PID new in the part")
        XCTAssertEqual(counters(later, 0x1FFF), [9], "null packets untouched")
        XCTAssertEqual(later[188 + 3] >> 4, 2, "adaptation_field_control kept")
        // A second file of that part keeps the part's offset.
        var next = packet(0x100, 2) + packet(0x100, 3)
        XCTAssertTrue(try continuity.renumber(&next))
        XCTAssertEqual(counters(next, 0x100), [7, 8])
        XCTAssertEqual(continuity.last[0x100], 8)

        var truncated = packet(0x100, 0) + packet(0x100, 1).dropLast()
        XCTAssertThrowsError(try continuity.renumber(&truncated)) { XCTAssertTrue("\($0)".contains("188-byte packets"), "\($0)") }
        var unsynced = packet(0x100, 0) + [0x00] + packet(0x100, 1).dropFirst()
        XCTAssertThrowsError(try continuity.renumber(&unsynced)) { XCTAssertTrue("\($0)".contains("0x47"), "\($0)") }
    }

    /// Per PID, every counter follows the one before it through all of `segments` in order:
    /// +1 (mod 16) for a packet with payload, the same for an adaptation-only one. Returns the
    /// complaints and the number of PIDs seen.
    static func continuityBreaks(_ segments: [URL]) throws -> (breaks: [String], pids: Set<UInt16>) {
        var last: [UInt16: UInt8] = [:], breaks: [String] = []
        for url in segments {
            let bytes = [UInt8](try Data(contentsOf: url))
            try TSContinuity.check(bytes)
            for at in stride(from: 0, to: bytes.count, by: TSContinuity.packetSize) {
                let (pid, cc, payload) = TSContinuity.header(bytes, at)
                guard pid != 0x1FFF else { continue }
                if let previous = last[pid], cc != (payload ? (previous + 1) & 0x0F : previous) {
                    breaks.append("\(url.lastPathComponent) byte \(at): PID \(pid) counter \(cc) after \(previous)")
                }
                last[pid] = cc
            }
        }
        return (breaks, Set(last.keys))
    }

    /// A TS ladder in chunks against the same ladder whole: per rung the same packet times and
    /// keyframes, every PID's continuity counter running on across both joins (so FFmpeg reports
    /// no corrupt packet there), and a part's segment that is not whole packets refused by name.
    func testChunkedTSLadderContinuesTheCountersAcrossJoins() throws {
        let fixture = try Fixtures.get(LadderChunkTests.spec)
        let root = ScratchSpace.makeFolder("ladder-chunks-ts")
        let profiles = root.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        let yaml = LadderChunkTests.ladderFile.replacingOccurrences(of: "format: fmp4", with: "format: ts")
        XCTAssertTrue(yaml.contains("format: ts"))
        try yaml.write(to: profiles.appendingPathComponent("ladder-chunky.yaml"), atomically: true, encoding: .utf8)
        let common = ["--ladder", "chunky", "--profile-dir", profiles.path, "--json"]
        func run(_ args: [String]) throws -> JSONValue? {
            let r = try Reprise.run(args, timeout: 600)
            XCTAssertEqual(r.status, 0, r.transcript)
            return r.summary()
        }
        let whole = root.appendingPathComponent("whole"), chunked = root.appendingPathComponent("chunked")
        _ = try run(["ladder", fixture.url.path, "-o", whole.path] + common)
        let plan = try run(["ladder", fixture.url.path, "-o", chunked.path, "--chunk-plan", "8"] + common)
        let chunks = plan?["chunks"]?.array ?? []
        XCTAssertEqual(chunks.count, 3, "split: \(plan?["whole"]?.string ?? "")")
        var parts: [String] = []
        for c in chunks {
            parts.append(try run(["ladder", fixture.url.path, "-o", chunked.path, "--chunk", "\(c["start"]?.double ?? -1),\(c["end"]?.double ?? -1)"] + common)?["output"]?.string ?? "")
        }
        let audio = try run(["ladder", fixture.url.path, "-o", chunked.path, "--audio-only"] + common)?["output"]?.string ?? ""
        _ = try run(["stitch"] + parts + ["--audio", audio, "-o", chunked.path, "--json"])

        for rung in ["180p", "90p"] {
            let playlist = chunked.appendingPathComponent("\(rung)/index.m3u8")
            let wp = try FFprobe.packets(whole.appendingPathComponent("\(rung)/index.m3u8"))
            let cp = try FFprobe.packets(playlist)
            XCTAssertEqual(cp.count, LadderChunkTests.spec.frameCount, "\(rung): frame count")
            XCTAssertEqual(cp.map(\.pts), wp.map(\.pts), "\(rung): pts")
            XCTAssertEqual(cp.map(\.dts), wp.map(\.dts), "\(rung): dts")
            XCTAssertEqual(cp.map(\.isKeyframe), wp.map(\.isKeyframe), "\(rung): keyframes")

            let warnings = try Subprocess.run("ffmpeg", ["-hide_banner", "-nostdin", "-v", "warning", "-i", playlist.path, "-f", "null", "-"])
            XCTAssertEqual(warnings.status, 0, warnings.stderrText)
            XCTAssertFalse(warnings.stderrText.lowercased().contains("corrupt"), "\(rung): \(warnings.stderrText)")

            let media = try XCTUnwrap(MediaPlaylist.parse(try String(contentsOf: playlist, encoding: .utf8)))
            XCTAssertEqual(media.segments.count, 12, "\(rung): 12 segments, joins at seg_00004 and seg_00008")
            let (breaks, pids) = try LadderChunkTests.continuityBreaks(media.segments.map { playlist.deletingLastPathComponent().appendingPathComponent($0.uri) })
            XCTAssertEqual(breaks, [], "\(rung): continuity")
            XCTAssertGreaterThanOrEqual(pids.count, 3, "\(rung): PAT, PMT and video at least: \(pids.sorted())")
            // The parts' own files are left as their muxers wrote them (restarting at the join).
            let partSegment = URL(fileURLWithPath: parts[1]).appendingPathComponent("\(rung)/seg_00004.ts")
            XCTAssertNotEqual(try Data(contentsOf: partSegment), try Data(contentsOf: chunked.appendingPathComponent("\(rung)/seg_00004.ts")),
                              "\(rung): the join's segment renumbered in a copy")
        }

        // A later part's segment cut short (not whole packets): refused in one line naming it.
        let fm = FileManager.default
        let tampered = root.appendingPathComponent("tampered/" + (parts[1] as NSString).lastPathComponent)
        try fm.createDirectory(at: tampered.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(atPath: parts[1], toPath: tampered.path)
        let cut = tampered.appendingPathComponent("180p/seg_00005.ts")
        try Data(try Data(contentsOf: cut).dropLast(100)).write(to: cut)
        let target = root.appendingPathComponent("refused/hls")
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let refused = try Reprise.run(["stitch", parts[0], tampered.path, parts[2], "--audio", audio, "-o", target.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderrLines.count, 1, refused.transcript)
        XCTAssertTrue(refused.stderrLines.first?.contains(tampered.path + ": 180p/seg_00005.ts is not MPEG-TS") ?? false, refused.transcript)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target.deletingLastPathComponent().path), [], "nothing written")
    }

    // MARK: What a part records, and where outputs may go.

    /// A copy of the part folder `part` under `root/NAME/`, its `chunk.json` changed by `edit`.
    static func tamperedCopy(of part: String, root: URL, name: String, edit: (inout LadderChunkManifest) -> Void) throws -> String {
        let fm = FileManager.default
        let copy = root.appendingPathComponent(name).appendingPathComponent((part as NSString).lastPathComponent)
        try fm.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(atPath: part, toPath: copy.path)
        var manifest = try LadderChunkManifest.read(copy.path)
        edit(&manifest)
        try manifest.write(into: copy)
        return copy.path
    }

    /// Asserts `run` failed with one line naming `folder` and holding `words`.
    func assertRefused(_ run: Reprise.Run, naming folder: String, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(run.status, 0, run.transcript, file: file, line: line)
        XCTAssertEqual(run.stderrLines.count, 1, run.transcript, file: file, line: line)
        XCTAssertTrue(run.stderrLines.first?.contains(folder + ": ") ?? false, run.transcript, file: file, line: line)
        XCTAssertTrue(run.stderrLines.first?.contains(words) ?? false, "wanted \"\(words)\": \(run.transcript)", file: file, line: line)
    }

    /// Every part records the recording (path, size, modification time) and a fingerprint of the
    /// ladder definition: a part of another recording of the same length, of another definition
    /// of the ladder or with other GOP seconds, video or audio, is refused in one line naming
    /// it, and nothing is written.
    func testTheStitchRefusesPartsOfAnotherRecordingOrLadderDefinition() throws {
        let m = try LadderChunkTests.make()
        let fm = FileManager.default
        let manifest = try LadderChunkManifest.read(m.parts[1])
        let recording = try XCTUnwrap(manifest.recording)
        XCTAssertEqual(recording.path, try Fixtures.get(LadderChunkTests.spec).url.resolvingSymlinksInPath().path)
        XCTAssertEqual(recording.size, Int64(try XCTUnwrap(try fm.attributesOfItem(atPath: recording.path)[.size] as? Int)))
        XCTAssertEqual(manifest.ladderFingerprint?.count, 16)
        XCTAssertEqual(manifest.hasAudio, true)
        let audioManifest = try LadderChunkManifest.read(m.audioPart)
        XCTAssertEqual(audioManifest.ladderFingerprint, manifest.ladderFingerprint)
        XCTAssertEqual(audioManifest.recording, recording)

        let root = m.root.appendingPathComponent("origin")
        let target = root.appendingPathComponent("out/hls-chunky")
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        func stitch(_ parts: [String], audio: String) throws -> Reprise.Run {
            try Reprise.run(["stitch"] + parts + ["--audio", audio, "-o", target.path])
        }
        let otherFile = try LadderChunkTests.tamperedCopy(of: m.parts[1], root: root, name: "other-file") { $0.recording?.path = "/recordings/another.mp4" }
        assertRefused(try stitch([m.parts[0], otherFile, m.parts[2]], audio: m.audioPart), naming: otherFile, "another recording")
        let replaced = try LadderChunkTests.tamperedCopy(of: m.parts[2], root: root, name: "replaced") { $0.recording?.modified += 60 }
        assertRefused(try stitch([m.parts[0], m.parts[1], replaced], audio: m.audioPart), naming: replaced, "another recording")
        let edited = try LadderChunkTests.tamperedCopy(of: m.parts[1], root: root, name: "edited") { $0.ladderFingerprint = "0123456789abcdef" }
        assertRefused(try stitch([m.parts[0], edited, m.parts[2]], audio: m.audioPart), naming: edited, "another definition of ladder")
        let gop = try LadderChunkTests.tamperedCopy(of: m.parts[1], root: root, name: "gop") { $0.gopSeconds = 1 }
        assertRefused(try stitch([m.parts[0], gop, m.parts[2]], audio: m.audioPart), naming: gop, "1 s GOPs")
        let old = try LadderChunkTests.tamperedCopy(of: m.parts[1], root: root, name: "old") { $0.recording = nil }
        assertRefused(try stitch([m.parts[0], old, m.parts[2]], audio: m.audioPart), naming: old, "records no recording")
        let otherAudio = try LadderChunkTests.tamperedCopy(of: m.audioPart, root: root, name: "other-audio") { $0.recording?.size += 1 }
        assertRefused(try stitch(m.parts, audio: otherAudio), naming: otherAudio, "another recording")
        let editedAudio = try LadderChunkTests.tamperedCopy(of: m.audioPart, root: root, name: "edited-audio") { $0.ladderFingerprint = "0123456789abcdef" }
        assertRefused(try stitch(m.parts, audio: editedAudio), naming: editedAudio, "another definition of ladder")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target.deletingLastPathComponent().path), [], "nothing written")
    }

    /// The video parts record that the recording has audio: a stitch without `--audio` is refused
    /// (it would make a silent ladder), naming the first part.
    func testTheStitchRefusesAMissingAudioPart() throws {
        let m = try LadderChunkTests.make()
        let target = m.root.appendingPathComponent("silent/hls-chunky")
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let run = try Reprise.run(["stitch"] + m.parts + ["-o", target.path])
        assertRefused(run, naming: m.parts[0], "no audio part is given")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path), [], "nothing written")
    }

    /// No output goes at or inside a part folder (the parts are removed once stitched): the
    /// stitch's `-o` a part folder or a folder in one, or a whole ladder's, are refused naming
    /// it, the part left whole; a chunk run replaces its own part folder, but not a folder that
    /// holds no part.
    func testOutputsStayOutOfPartFolders() throws {
        let m = try LadderChunkTests.make()
        let fm = FileManager.default
        func listing(_ folder: String) throws -> [String] { try fm.subpathsOfDirectory(atPath: folder).sorted() }
        let before = try listing(m.parts[1])
        XCTAssertTrue(before.contains("chunk.json"))
        assertRefused(try Reprise.run(["stitch"] + m.parts + ["--audio", m.audioPart, "-o", m.parts[1]]), naming: m.parts[1], "holds the output")
        let inside = (m.parts[1] as NSString).appendingPathComponent("hls")
        assertRefused(try Reprise.run(["stitch"] + m.parts + ["--audio", m.audioPart, "-o", inside]), naming: m.parts[1], "holds the output")
        assertRefused(try Reprise.run(["stitch"] + m.parts + ["--audio", m.audioPart, "-o", m.audioPart]), naming: m.audioPart, "holds the output")

        let fixture = try Fixtures.get(LadderChunkTests.spec)
        let common = ["--ladder", "chunky", "--profile-dir", m.root.appendingPathComponent("profiles").path, "--json"]
        assertRefused(try Reprise.run(["ladder", fixture.url.path, "-o", m.parts[1]] + common), naming: m.parts[1], "is a ladder part folder")
        assertRefused(try Reprise.run(["ladder", fixture.url.path, "-o", inside] + common), naming: inside, "inside the ladder part folder")
        XCTAssertEqual(try listing(m.parts[1]), before, "the part left whole")

        // A chunk run again (as a retried chunk job): it replaces its part folder, not another folder.
        let rerun = m.root.appendingPathComponent("rerun/hls-chunky")
        try fm.createDirectory(at: rerun.deletingLastPathComponent(), withIntermediateDirectories: true)
        let plan = try Reprise.run(["ladder", fixture.url.path, "-o", rerun.path, "--chunk-plan", "8"] + common)
        XCTAssertEqual(plan.status, 0, plan.transcript)
        let part = try XCTUnwrap(plan.summary()?["chunks"]?.array?.last?["part"]?.string)
        try fm.createDirectory(atPath: part, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: part).appendingPathComponent("notes.txt"))
        assertRefused(try Reprise.run(["ladder", fixture.url.path, "-o", rerun.path, "--chunk", "16,24"] + common), naming: part, "holds no ladder part")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: part), ["notes.txt"], "the folder left alone")
        try fm.removeItem(atPath: part)
        try fm.copyItem(atPath: m.parts[2], toPath: part)
        try fm.removeItem(atPath: (part as NSString).appendingPathComponent("90p"))
        let again = try Reprise.run(["ladder", fixture.url.path, "-o", rerun.path, "--chunk", "16,24"] + common)
        XCTAssertEqual(again.status, 0, again.transcript)
        XCTAssertEqual(try listing(part), try listing(m.parts[2]), "the part folder replaced whole")
    }

    /// The fingerprint follows what changes the encode (a rung's bitrate, an encoder option, the
    /// GOP, the audio) and not the description or the file the ladder was read from.
    func testTheLadderFingerprintFollowsTheDefinition() throws {
        let file = ScratchSpace.makeFolder("ladder-fingerprint").appendingPathComponent("ladder-chunky.yaml")
        try LadderChunkTests.ladderFile.write(to: file, atomically: true, encoding: .utf8)
        let ladder = try LadderLoader.load(path: file.path)
        let fingerprint = LadderFingerprint.of(ladder)
        XCTAssertEqual(fingerprint.count, 16)
        var same = ladder
        same.description = "another text"
        same.source = "/elsewhere/ladder-chunky.yaml"
        XCTAssertEqual(LadderFingerprint.of(same), fingerprint)
        var changes: [(String, (inout Ladder) -> Void)] = []
        changes.append(("bitrate", { $0.rungs[1].video.bitrate = 130_000 }))
        changes.append(("encoder option", { $0.rungs[0].video.encoderOptions["tune"] = "film" }))
        changes.append(("gop", { $0.gopSeconds = 1 }))
        changes.append(("audio", { $0.audio.bitrate = 96_000 }))
        changes.append(("rung order", { $0.rungs.reverse() }))
        for (what, change) in changes {
            var other = ladder
            change(&other)
            XCTAssertNotEqual(LadderFingerprint.of(other), fingerprint, what)
        }
    }
}
