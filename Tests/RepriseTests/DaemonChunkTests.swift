import Foundation
import XCTest
@testable import RepriseDaemon
import RepriseJobs

/// A long transcode job through the daemon with `chunk_seconds`: split into chunk, audio and
/// stitch parts in the store, run by any worker, the stitch finishing the parent with one whole
/// output and no part or staging file left behind.
final class DaemonChunkTests: XCTestCase {
    func testTheGraphOfALayout() throws {
        let layout = ChunkGraph.Layout(output: "/out/rec/rec.tiny.mp4", chunks: [
            .init(index: 0, start: 0, end: 4, part: "/out/rec/rec.tiny.chunk-0.mp4"),
            .init(index: 1, start: 4, end: 6.5, part: "/out/rec/rec.tiny.chunk-1.mp4"),
        ], audioPart: "/out/rec/rec.tiny.chunk-audio.mp4")
        let drafts = try XCTUnwrap(try ChunkGraph.drafts(kind: "transcode:tiny", priority: 2, layout: layout))
        XCTAssertEqual(drafts.map(\.kind), ["chunk:transcode:tiny", "chunk:transcode:tiny", "audio:transcode:tiny", "stitch:transcode:tiny"])
        XCTAssertEqual(drafts.map(\.needs), [[], [], [], [0, 1, 2]], "the stitch waits for every other part")
        XCTAssertEqual(drafts.map(\.completesParent), [false, false, false, true])
        XCTAssertEqual(Set(drafts.map(\.priority)), [2])
        let oneChunk = ChunkGraph.Layout(output: layout.output, chunks: [layout.chunks[0]], audioPart: nil)
        XCTAssertNil(try ChunkGraph.drafts(kind: "transcode:tiny", priority: 2, layout: oneChunk), "one chunk: nothing to split")
        XCTAssertFalse(ChunkGraph.canSplit(kind: "ladder:default"))
        XCTAssertFalse(ChunkGraph.canSplit(kind: "highlights"))

        // Each part's command, paths mapped to the node's own mount.
        func job(_ n: Int) -> Job {
            Job(id: Int64(10 + n), input: InputIdentity(path: "/in/rec.mp4", size: 1, modified: 0, hash: "h"), watchFolder: "/in",
                kind: drafts[n].kind, priority: 2, state: .running, attempts: 1, createdAt: Date(), parentID: 9, payload: drafts[n].payload)
        }
        let local: (String) -> String = { $0.replacingOccurrences(of: "/out/", with: "/mnt/out/") }
        XCTAssertEqual(try ChunkGraph.arguments(part: job(1), input: "/mnt/in/rec.mp4", folder: "/mnt/out/rec/.stage", profileFolders: [], local: local),
                       ["transcode", "/mnt/in/rec.mp4", "--profile", "tiny", "-o", "/mnt/out/rec/.stage/rec.tiny.mp4", "--chunk", "4.0,6.5", "--json"])
        XCTAssertEqual(try ChunkGraph.arguments(part: job(2), input: "/mnt/in/rec.mp4", folder: "/s", profileFolders: ["/p"], local: local),
                       ["transcode", "/mnt/in/rec.mp4", "--profile", "tiny", "-o", "/s/rec.tiny.mp4", "--audio-only", "--json", "--profile-dir", "/p"])
        XCTAssertEqual(try ChunkGraph.arguments(part: job(3), input: "/mnt/in/rec.mp4", folder: "/s", profileFolders: [], local: local),
                       ["stitch", "/mnt/out/rec/rec.tiny.chunk-0.mp4", "/mnt/out/rec/rec.tiny.chunk-1.mp4",
                        "--audio", "/mnt/out/rec/rec.tiny.chunk-audio.mp4", "-o", "/s/rec.tiny.mp4", "--json"])
        XCTAssertEqual(ChunkGraph.partFiles(of: job(3)), layout.chunks.map(\.part) + [layout.audioPart!])
        XCTAssertEqual(ChunkGraph.partFiles(of: job(0)), [], "only a stitch names parts to remove")
    }

    func testASplitTranscodeIsRunByTwoWorkersAndStitched() throws {
        let h = try DaemonTests.Harness("daemon-chunks")
        // The source's own size, so the barcode reads back.
        try """
            name: chunky
            video: {width: 320, height: 180, quality: 30, encoder_options: {preset: ultrafast}}
            audio: {bitrate: 32k}
            """.write(to: h.profiles.appendingPathComponent("chunky.yaml"), atomically: true, encoding: .utf8)
        h.forms = "transcode:chunky"
        h.workers = 2
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: h.watch.appendingPathComponent("rec.mp4"))
        h.process = try h.launch(["--chunk-seconds", "4"])
        defer { h.stop() }
        _ = try h.waitFor("the transcode done", timeout: 300) { jobs in
            jobs.contains { $0["kind"]?.string == "transcode:chunky" && $0["state"]?.string == "done" }
        }
        let store = try SQLiteJobStore(path: h.state.appendingPathComponent("jobs.sqlite").path)
        let parent = try XCTUnwrap(try store.jobs().first { $0.kind == "transcode:chunky" })
        let parts = try store.children(of: parent.id)
        XCTAssertEqual(parts.map(\.kind), Array(repeating: "chunk:transcode:chunky", count: 3) + ["audio:transcode:chunky", "stitch:transcode:chunky"])
        XCTAssertEqual(parts.map(\.state), Array(repeating: .done, count: 5))
        XCTAssertEqual(parts.map(\.attempts), Array(repeating: 1, count: 5))
        XCTAssertEqual(parts.last?.needs, parts.dropLast().map(\.id))
        let stitchedAfter = try XCTUnwrap(parts.last?.startedAt)
        for part in parts.dropLast() { XCTAssertLessThanOrEqual(try XCTUnwrap(part.finishedAt), stitchedAfter, "\(part.kind) ended after the stitch began") }

        let output = h.out.appendingPathComponent("rec/rec.chunky.mp4")
        XCTAssertEqual(parent.outputs, [output.path], "the parent is done with the stitched output")
        XCTAssertEqual(parts.last?.outputs, parent.outputs)
        XCTAssertEqual(h.outputFiles(), ["rec", "rec/rec.chunky.mp4"], "parts and staging folders removed")
        XCTAssertEqual(try VideoReadback.read(output).indices, Array(0..<spec.frameCount), "every frame once (barcode)")
        let keys = try FFprobe.packets(output).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted()
        XCTAssertEqual(keys, [0, 2, 4, 6, 8, 10], "IDRs on the 2 s grid")
        XCTAssertEqual(try FFprobe.describe(output).format?.durationSeconds ?? 0, 12, accuracy: 0.05)
        XCTAssertFalse(try FFprobe.packets(output, stream: "a:0").isEmpty, "the audio part is in")
        XCTAssertEqual(try DecodeCheck.errors(output), "")
    }
}
