import Foundation
import XCTest
@testable import RepriseHLS

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

    /// Init segments that differ only in their edit lists (a later chunk's movenc writes its own)
    /// are interchangeable; any other difference (parameter sets) is not.
    func testInitSegmentsDifferingOnlyInEditListsAreInterchangeable() {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let size = UInt32(body.count + 8)
            return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + body
        }
        func initSegment(elst: [UInt8], avcC: [UInt8]) -> [UInt8] {
            box("ftyp", Array("iso5".utf8)) + box("moov", box("mvhd", [0, 0, 0, 0]) + box("trak", box("tkhd", [1, 2]) + box("edts", box("elst", elst))
                + box("mdia", box("stsd", avcC))))
        }
        let first = initSegment(elst: [0, 0, 4, 0], avcC: [1, 100, 0, 30])
        let later = initSegment(elst: [0, 0, 0, 0, 0, 0, 0, 0], avcC: [1, 100, 0, 30])
        let other = initSegment(elst: [0, 0, 4, 0], avcC: [1, 77, 0, 30])
        XCTAssertTrue(InitSegment.interchangeable(first, later))
        XCTAssertFalse(InitSegment.interchangeable(first, other))
        XCTAssertFalse(InitSegment.interchangeable(first, Array(first.dropLast())), "a truncated box")
    }
}
