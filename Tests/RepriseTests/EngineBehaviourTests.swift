import Foundation
import XCTest

/// Behaviour the cut engine promises beyond a single clean cut: the fallback for codecs it
/// can't match, the packet-index cache beside the input, and recordings with a damaged tail.
final class EngineBehaviourTests: XCTestCase {
    /// MPEG-4 Part 2 can't be matched for smart cutting: the whole range is re-encoded (as
    /// H.264), the user is told, and the frames are still exactly the asked ones.
    func testUnmatchableCodecFallsBackToExactAndSaysSo() throws {
        let source = try SourceWitness.of(.mpeg4MP4)
        let cut = try CutOutcome.cut(.mpeg4MP4, ["--from", "f31", "--to", "f122"])
        cut.assertExactCut([CutRange(from: source.times[31], to: source.times[122])], mode: "exact")
        XCTAssertEqual(cut.run.summary()?["requestedMode"]?.string, "smart")
        XCTAssertTrue(cut.run.output.stdoutText.contains("re-encoded as H.264"), "fallback not announced:\n\(cut.run.transcript)")
        XCTAssertEqual(cut.video?.video.codec_name, "h264")
    }

    /// The index is cached under the user's cache folder (never beside the recording, which may
    /// sit in a read-only or watched folder), reused while the file is unchanged, rebuilt when it
    /// changes, and an old or unreadable cache is rebuilt, not misread.
    func testPacketIndexIsCachedOutsideTheRecordingsFolderAndRebuiltWhenItChanges() throws {
        let fixture = try Fixtures.get(.h264MP4)
        let folder = ScratchSpace.makeFolder("index-cache")
        let cacheHome = ScratchSpace.makeFolder("index-cache-home")
        let input = folder.appendingPathComponent("rec.mp4")
        try FileManager.default.copyItem(at: fixture.url, to: input)
        let index = cacheHome.appendingPathComponent("reprise/index")
        func cut(_ name: String) throws -> Reprise.Run {
            let run = try Reprise.run(["cut", input.path, "-o", ScratchSpace.makeFolder("index-out").appendingPathComponent(name).path,
                                       "--from", "1.5", "--to", "2.5", "--json"], environment: ["XDG_CACHE_HOME": cacheHome.path])
            XCTAssertEqual(run.status, 0, run.transcript)
            return run
        }
        func indexing(_ run: Reprise.Run) -> Bool { run.output.stdoutText.contains("\"stage\":\"indexing\"") }

        let first = try cut("a.mp4")
        XCTAssertEqual(FileSnapshot.listing(folder), ["rec.mp4"], "nothing is written beside the recording")
        let caches = try FileManager.default.contentsOfDirectory(atPath: index.path)
        XCTAssertEqual(caches.count, 1)
        let cache = index.appendingPathComponent(try XCTUnwrap(caches.first))
        XCTAssertTrue(indexing(first), "the first cut should index the input")
        let written = try FileManager.default.attributesOfItem(atPath: cache.path)[.modificationDate] as? Date

        let second = try cut("b.mp4")
        XCTAssertFalse(indexing(second), "the second cut should reuse the cached index")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: cache.path)[.modificationDate] as? Date, written)

        // A changed input (new modification time) is indexed again.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: input.path)
        let third = try cut("c.mp4")
        XCTAssertTrue(indexing(third), "a changed input should be indexed again")

        // A cache of another version (or garbage) in its place is rebuilt.
        var stale = try Data(contentsOf: cache)
        let key = try XCTUnwrap(stale.range(of: Data("\"version\":".utf8)), "version not in the cache header")
        let at = key.upperBound
        stale[at] = UInt8(ascii: "1")
        try stale.write(to: cache)
        let fourth = try cut("d.mp4")
        XCTAssertTrue(indexing(fourth), "a cache of another version should be rebuilt")
        try Data("RPIXgarbage".utf8).write(to: cache)
        let fifth = try cut("e.mp4")
        XCTAssertTrue(indexing(fifth), "an unreadable cache should be rebuilt")
    }

    /// A recording whose stream died (an MP4 with its index at the front, cut short): probe
    /// says where the damage begins, a cut inside the readable part is exact, and a cut past
    /// it is refused with the file named.
    func testDamagedTailIsReportedAndTheReadablePartCuts() throws {
        let fixture = try Fixtures.get(.h264MP4)
        let folder = ScratchSpace.makeFolder("damaged")
        let faststart = folder.appendingPathComponent("faststart.mp4")
        let remux = try Subprocess.run("ffmpeg", ["-v", "error", "-y", "-i", fixture.url.path, "-c", "copy",
                                        "-movflags", "+faststart", faststart.path])
        XCTAssertEqual(remux.status, 0)
        let whole = try Data(contentsOf: faststart)
        let damaged = folder.appendingPathComponent("damaged.mp4")
        try whole.prefix(whole.count * 6 / 10).write(to: damaged)

        let probe = try Reprise.run(["probe", damaged.path, "--json"])
        XCTAssertEqual(probe.status, 0, probe.transcript)
        let report = try JSONSerialization.jsonObject(with: Data(probe.output.stdoutText.utf8)) as? [String: Any]
        let damagedAt = try XCTUnwrap(report?["damagedTailAt"] as? Double, "damagedTailAt should be a time")
        XCTAssertGreaterThan(damagedAt, 2.0)
        XCTAssertLessThan(damagedAt, 9.5)

        let ok = try Reprise.run(["cut", damaged.path, "-o", folder.appendingPathComponent("ok.mp4").path,
                                  "--from", "0.5", "--to", "1.5", "--json"])
        XCTAssertEqual(ok.status, 0, ok.transcript)
        XCTAssertEqual(ok.summary()?["frames"]?.int, 30)

        let past = folder.appendingPathComponent("past.mp4")
        let refused = try Reprise.run(["cut", damaged.path, "-o", past.path, "--from", "1", "--to", "9.9"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.stderrText.contains(damaged.path), refused.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: past.path))
    }
}
