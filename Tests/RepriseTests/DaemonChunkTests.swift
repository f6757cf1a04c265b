import Foundation
import XCTest
@testable import RepriseDaemon
import RepriseJobs
import RepriseTranscode

/// A long transcode job through the daemon with `chunk_seconds`: split into chunk, audio and
/// stitch parts in the store, run by any worker, the stitch finishing the parent with one whole
/// output and no part or staging file left behind. Parts are published into the hidden
/// `.reprise-parts` folder, never among the outputs, and removed when the job fails too.
final class DaemonChunkTests: XCTestCase {
    func testTheGraphOfALayout() throws {
        let layout = ChunkGraph.Layout(output: "/out/rec/rec.tiny.mp4", chunks: [
            .init(index: 0, start: 0, end: 4, part: "/out/rec/.reprise-parts/rec.tiny.chunk-0.mp4"),
            .init(index: 1, start: 4, end: 6.5, part: "/out/rec/.reprise-parts/rec.tiny.chunk-1.mp4"),
        ], audioPart: "/out/rec/.reprise-parts/rec.tiny.chunk-audio.mp4")
        let drafts = try XCTUnwrap(try ChunkGraph.drafts(kind: "transcode:tiny", priority: 2, layout: layout))
        XCTAssertEqual(drafts.map(\.kind), ["chunk:transcode:tiny", "chunk:transcode:tiny", "audio:transcode:tiny", "stitch:transcode:tiny"])
        XCTAssertEqual(drafts.map(\.needs), [[], [], [], [0, 1, 2]], "the stitch waits for every other part")
        XCTAssertEqual(drafts.map(\.completesParent), [false, false, false, true])
        XCTAssertEqual(Set(drafts.map(\.priority)), [2])
        let oneChunk = ChunkGraph.Layout(output: layout.output, chunks: [layout.chunks[0]], audioPart: nil)
        XCTAssertNil(try ChunkGraph.drafts(kind: "transcode:tiny", priority: 2, layout: oneChunk), "one chunk: nothing to split")
        XCTAssertTrue(ChunkGraph.canSplit(kind: "ladder:default"))
        XCTAssertFalse(ChunkGraph.canSplit(kind: "transcode:a,b"))
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
                       ["stitch", "/mnt/out/rec/.reprise-parts/rec.tiny.chunk-0.mp4", "/mnt/out/rec/.reprise-parts/rec.tiny.chunk-1.mp4",
                        "--audio", "/mnt/out/rec/.reprise-parts/rec.tiny.chunk-audio.mp4", "-o", "/s/rec.tiny.mp4", "--json"])
        XCTAssertEqual(ChunkGraph.partFiles(of: job(3)), layout.chunks.map(\.part) + [layout.audioPart!])
        XCTAssertEqual(ChunkGraph.partFiles(of: job(0)), [], "only a stitch names parts to remove")
        XCTAssertEqual(ChunkGraph.partFiles(ofGraph: (0..<4).map(job)), layout.chunks.map(\.part) + [layout.audioPart!])
        XCTAssertEqual((0..<4).map { ChunkGraph.publishesParts(job($0)) }, [true, true, true, false], "chunks and audio publish parts")

        // The encoder names parts in the folder the daemon publishes them into.
        XCTAssertEqual(ChunkGraph.partsFolderName, ChunkEncoder.partsFolderName)
        XCTAssertEqual(ChunkEncoder.videoPartPath(output: "/out/rec/rec.tiny.mp4", start: 4, end: 6.5),
                       "/out/rec/.reprise-parts/rec.tiny.chunk-000004000-000006500.mp4")
        XCTAssertEqual(ChunkEncoder.audioPartPath(output: "/out/rec/rec.tiny.mp4"), "/out/rec/.reprise-parts/rec.tiny.chunk-audio.mp4")
        XCTAssertEqual(LadderChunkEncoder.partFolder(output: "/out/rec/hls-default/", start: 0, end: 60),
                       "/out/rec/.reprise-parts/hls-default.chunk-000000000-000060000")
        XCTAssertEqual(LadderChunkEncoder.audioPartFolder(output: "/out/rec/hls-default"), "/out/rec/.reprise-parts/hls-default.chunk-audio")
    }

    /// A ladder's parts: folders beside `hls-NAME`, made by `reprise ladder --chunk/--audio-only`
    /// and joined by the same `reprise stitch`.
    func testTheGraphOfALadder() throws {
        XCTAssertEqual(ChunkGraph.planArguments(kind: "ladder:default", input: "/in/rec.mp4", output: "/out/rec", chunkSeconds: 60, profileFolders: ["/p"]),
                       ["ladder", "/in/rec.mp4", "--ladder", "default", "-o", "/out/rec/hls-default", "--chunk-plan", "60.0", "--json", "--profile-dir", "/p"])
        let layout = ChunkGraph.Layout(output: "/out/rec/hls-default", chunks: [
            .init(index: 0, start: 0, end: 60, part: "/out/rec/.reprise-parts/hls-default.chunk-000000000-000060000"),
            .init(index: 1, start: 60, end: 90.5, part: "/out/rec/.reprise-parts/hls-default.chunk-000060000-000090500"),
        ], audioPart: "/out/rec/.reprise-parts/hls-default.chunk-audio")
        let drafts = try XCTUnwrap(try ChunkGraph.drafts(kind: "ladder:default", priority: 3, layout: layout))
        XCTAssertEqual(drafts.map(\.kind), ["chunk:ladder:default", "chunk:ladder:default", "audio:ladder:default", "stitch:ladder:default"])
        func job(_ n: Int) -> Job {
            Job(id: Int64(20 + n), input: InputIdentity(path: "/in/rec.mp4", size: 1, modified: 0, hash: "h"), watchFolder: "/in",
                kind: drafts[n].kind, priority: 3, state: .running, attempts: 1, createdAt: Date(), parentID: 19, payload: drafts[n].payload)
        }
        XCTAssertEqual(try ChunkGraph.arguments(part: job(1), input: "/in/rec.mp4", folder: "/out/rec/.stage", profileFolders: []),
                       ["ladder", "/in/rec.mp4", "--ladder", "default", "-o", "/out/rec/.stage/hls-default", "--chunk", "60.0,90.5", "--json"])
        XCTAssertEqual(try ChunkGraph.arguments(part: job(2), input: "/in/rec.mp4", folder: "/s", profileFolders: []),
                       ["ladder", "/in/rec.mp4", "--ladder", "default", "-o", "/s/hls-default", "--audio-only", "--json"])
        XCTAssertEqual(try ChunkGraph.arguments(part: job(3), input: "/in/rec.mp4", folder: "/s", profileFolders: []),
                       ["stitch"] + layout.chunks.map(\.part) + ["--audio", "/out/rec/.reprise-parts/hls-default.chunk-audio", "-o", "/s/hls-default", "--json"])
        XCTAssertEqual(ChunkGraph.partFiles(of: job(3)), layout.chunks.map(\.part) + [layout.audioPart!], "part folders removed after the stitch")
    }

    /// A part job's staged parts (in the staging folder's `.reprise-parts/`) are published into
    /// the recording's `.reprise-parts/` (made when missing), a ladder part's folder whole,
    /// nothing among the outputs; the staging folder goes.
    func testAPartIsPublishedIntoThePartsFolder() throws {
        let target = ScratchSpace.makeFolder("chunk-publish").appendingPathComponent("rec").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        try "keep".write(toFile: target + "/rec.other.mp4", atomically: true, encoding: .utf8)
        let staging = StagedPublish(target: target, jobID: 3, fence: 1, parts: true)
        try staging.prepare()
        let staged = staging.folder + "/.reprise-parts"
        try fm.createDirectory(atPath: staged + "/hls-x.chunk-000000000-000004000/180p", withIntermediateDirectories: true)
        try "seg".write(toFile: staged + "/hls-x.chunk-000000000-000004000/180p/seg_00000.m4s", atomically: true, encoding: .utf8)
        try "part".write(toFile: staged + "/rec.tiny.chunk-000000000-000004000.mp4", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: staged + "/.hls-x.chunk-work", withIntermediateDirectories: true)
        XCTAssertEqual(staging.finalPath(staged + "/rec.tiny.chunk-000000000-000004000.mp4"),
                       target + "/.reprise-parts/rec.tiny.chunk-000000000-000004000.mp4")

        XCTAssertEqual(try staging.publish(), [target + "/.reprise-parts/hls-x.chunk-000000000-000004000",
                                               target + "/.reprise-parts/rec.tiny.chunk-000000000-000004000.mp4"])
        staging.discard()  // as the daemon does once the part is recorded done
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target).sorted(), [".reprise-parts", "rec.other.mp4"], "no staging folder left, no part among the outputs")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target + "/.reprise-parts").sorted(),
                       ["hls-x.chunk-000000000-000004000", "rec.tiny.chunk-000000000-000004000.mp4"], "hidden work folders are not published")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target + "/.reprise-parts/hls-x.chunk-000000000-000004000/180p"), ["seg_00000.m4s"])
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
        // Looked at on every poll while the job runs: no part among the outputs, parts in the hidden folder.
        let recording = h.out.appendingPathComponent("rec")
        var partsAmongOutputs: Set<String> = []
        _ = try h.waitFor("the transcode done", timeout: 300) { jobs in
            partsAmongOutputs.formUnion(((try? FileManager.default.contentsOfDirectory(atPath: recording.path)) ?? []).filter { $0.contains(".chunk-") })
            return jobs.contains { $0["kind"]?.string == "transcode:chunky" && $0["state"]?.string == "done" }
        }
        XCTAssertEqual(partsAmongOutputs, [], "parts showed among the outputs")
        let store = try SQLiteJobStore(path: h.state.appendingPathComponent("jobs.sqlite").path)
        let parent = try XCTUnwrap(try store.jobs().first { $0.kind == "transcode:chunky" })
        let parts = try store.children(of: parent.id)
        XCTAssertEqual(parts.map(\.kind), Array(repeating: "chunk:transcode:chunky", count: 3) + ["audio:transcode:chunky", "stitch:transcode:chunky"])
        XCTAssertEqual(parts.map(\.state), Array(repeating: .done, count: 5))
        XCTAssertEqual(parts.map(\.attempts), Array(repeating: 1, count: 5))
        XCTAssertEqual(parts.last?.needs, parts.dropLast().map(\.id))
        // Each chunk and the audio part were published into the hidden parts folder, in the
        // folder of their graph.
        let partsFolder = recording.appendingPathComponent(".reprise-parts/job-\(parent.id)").path
        XCTAssertEqual(parts.dropLast().map { $0.outputs.map { ($0 as NSString).deletingLastPathComponent } }, Array(repeating: [partsFolder], count: 4))
        let stitchedAfter = try XCTUnwrap(parts.last?.startedAt)
        for part in parts.dropLast() { XCTAssertLessThanOrEqual(try XCTUnwrap(part.finishedAt), stitchedAfter, "\(part.kind) ended after the stitch began") }

        let output = h.out.appendingPathComponent("rec/rec.chunky.mp4")
        XCTAssertEqual(parent.outputs, [output.path], "the parent is done with the stitched output")
        XCTAssertEqual(parts.last?.outputs, parent.outputs)
        // The stitch's parts and then the emptied parts folder are removed right after it is recorded.
        XCTAssertTrue(pollUntil(timeout: 10) { h.outputFiles() == ["rec", "rec/rec.chunky.mp4"] }, "parts and staging folders removed: \(h.outputFiles())")
        XCTAssertEqual(try VideoReadback.read(output).indices, Array(0..<spec.frameCount), "every frame once (barcode)")
        let keys = try FFprobe.packets(output).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted()
        XCTAssertEqual(keys, [0, 2, 4, 6, 8, 10], "IDRs on the 2 s grid")
        XCTAssertEqual(try FFprobe.describe(output).format?.durationSeconds ?? 0, 12, accuracy: 0.05)
        XCTAssertFalse(try FFprobe.packets(output, stream: "a:0").isEmpty, "the audio part is in")
        XCTAssertEqual(try DecodeCheck.errors(output), "")
    }

    /// A `ladder:` job with `chunk_seconds`: split into ladder parts, stitched into one playable
    /// ladder (every frame once in the top rung, IDRs on the grid), part folders removed.
    func testASplitLadderIsStitchedIntoOnePlayableLadder() throws {
        let h = try DaemonTests.Harness("daemon-ladder-chunks")
        try """
            name: ladder-chunky
            segment_seconds: 2
            gop_seconds: 2
            reuse: never
            video: {codec: h264, encoder_options: {preset: ultrafast}}
            rungs:
              - {width: 320, height: 180, bitrate: 300k}
              - {width: 160, height: 90, bitrate: 100k}
            audio: {bitrate: 32k}
            """.write(to: h.profiles.appendingPathComponent("ladder-chunky.yaml"), atomically: true, encoding: .utf8)
        h.forms = "ladder:chunky"
        h.workers = 2
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: h.watch.appendingPathComponent("rec.mp4"))
        h.process = try h.launch(["--chunk-seconds", "4"])
        defer { h.stop() }
        _ = try h.waitFor("the ladder done", timeout: 300) { jobs in
            jobs.contains { $0["kind"]?.string == "ladder:chunky" && $0["state"]?.string == "done" }
        }
        let store = try SQLiteJobStore(path: h.state.appendingPathComponent("jobs.sqlite").path)
        let parent = try XCTUnwrap(try store.jobs().first { $0.kind == "ladder:chunky" })
        let parts = try store.children(of: parent.id)
        XCTAssertEqual(parts.map(\.kind), Array(repeating: "chunk:ladder:chunky", count: 3) + ["audio:ladder:chunky", "stitch:ladder:chunky"])
        XCTAssertEqual(parts.map(\.state), Array(repeating: .done, count: 5))

        let ladder = h.out.appendingPathComponent("rec/hls-chunky")
        XCTAssertTrue(parent.outputs.contains(ladder.appendingPathComponent("master.m3u8").path), "\(parent.outputs)")
        var files: [String] = []
        XCTAssertTrue(pollUntil(timeout: 10) {
            files = h.outputFiles()
            return !files.contains { $0.contains(".chunk-") || $0.contains("stag") || $0.contains("partial") || $0.contains(".reprise-parts") }
        }, "parts or staging left: \(files)")
        XCTAssertEqual(Set(files.map { $0.split(separator: "/").prefix(2).joined(separator: "/") }), ["rec", "rec/hls-chunky"], "only the ladder")
        XCTAssertTrue(files.contains("rec/hls-chunky/master.m3u8"))
        let top = ladder.appendingPathComponent("180p/index.m3u8")
        XCTAssertEqual(try VideoReadback.read(top).indices, Array(0..<spec.frameCount), "every frame once (barcode)")
        let keys = try FFprobe.packets(top).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted()
        XCTAssertEqual(keys.map { (($0 - (keys.first ?? 0)) * 1000).rounded() / 1000 }, [0, 2, 4, 6, 8, 10], "IDRs on the 2 s grid")
        XCTAssertEqual(try DecodeCheck.errors(ladder.appendingPathComponent("master.m3u8")), "")
    }

    /// A split job whose audio part fails its only attempt (an AAC sample rate the encoder
    /// refuses; the video chunks are fine): the job fails, and the chunk parts it had published
    /// are removed with their folder; nothing named as a part is left anywhere in the output.
    func testAFailedSplitJobLeavesNoParts() throws {
        let h = try DaemonTests.Harness("daemon-chunks-failed")
        try """
            name: chunky
            video: {width: 320, height: 180, quality: 30, encoder_options: {preset: ultrafast}}
            audio: {bitrate: 32k, sample_rate: 12345}
            """.write(to: h.profiles.appendingPathComponent("chunky.yaml"), atomically: true, encoding: .utf8)
        h.forms = "transcode:chunky"
        // One worker: the chunks (drafted first) run and publish before the audio part fails.
        h.workers = 1
        h.maxAttempts = 1
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: h.watch.appendingPathComponent("rec.mp4"))
        h.process = try h.launch(["--chunk-seconds", "4"])
        defer { h.stop() }
        _ = try h.waitFor("the transcode failed", timeout: 300) { jobs in
            jobs.contains { $0["kind"]?.string == "transcode:chunky" && $0["state"]?.string == "failed" }
        }
        let store = try SQLiteJobStore(path: h.state.appendingPathComponent("jobs.sqlite").path)
        let parent = try XCTUnwrap(try store.jobs().first { $0.kind == "transcode:chunky" })
        let parts = try store.children(of: parent.id)
        XCTAssertEqual(parts.map(\.kind), Array(repeating: "chunk:transcode:chunky", count: 3) + ["audio:transcode:chunky", "stitch:transcode:chunky"])
        XCTAssertEqual(parts.map(\.state), [.done, .done, .done, .failed, .cancelled], "the chunks were published before the audio part failed")
        XCTAssertTrue(parts[3].lastError?.contains("open encoder") ?? false, parts[3].lastError ?? "-")

        var files: [String] = []
        XCTAssertTrue(pollUntil(timeout: 10) { files = h.outputFiles(); return files == ["rec"] },
                      "parts, their folder or staging left after the failure: \(files)")
        XCTAssertTrue(h.logText().contains("parts of the ended job removed"), h.logText().suffix(3000).description)
    }

    /// A split job cancelled while none of its parts runs (the audio part waiting out its
    /// backoff after a failed attempt): no attempt's end sees it, so a node sweeps such jobs at
    /// start (and hourly) once they ended over a lease ago, removing the published chunk parts.
    func testACancelledSplitJobsPartsAreSweptAtStart() throws {
        let h = try DaemonTests.Harness("daemon-chunks-cancelled")
        try """
            name: chunky
            video: {width: 320, height: 180, quality: 30, encoder_options: {preset: ultrafast}}
            audio: {bitrate: 32k, sample_rate: 12345}
            """.write(to: h.profiles.appendingPathComponent("chunky.yaml"), atomically: true, encoding: .utf8)
        h.forms = "transcode:chunky"
        h.workers = 1
        h.maxAttempts = 2
        h.extraConfig = "lease_seconds: 3\nheartbeat_seconds: 1"
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: h.watch.appendingPathComponent("rec.mp4"))
        h.process = try h.launch(["--chunk-seconds", "4"])
        defer { h.stop() }
        let storePath = h.state.appendingPathComponent("jobs.sqlite").path
        // The audio part failed once and waits (30 s backoff); the chunks are published.
        _ = try h.waitFor("the audio part's first failure", timeout: 300) { jobs in
            jobs.contains { $0["kind"]?.string == "audio:transcode:chunky" && $0["state"]?.string == "queued" && $0["attempts"]?.int == 1 }
        }
        let store = try SQLiteJobStore(path: storePath)
        let parent = try XCTUnwrap(try store.jobs().first { $0.kind == "transcode:chunky" })
        XCTAssertEqual(try store.children(of: parent.id).map(\.state), [.done, .done, .done, .queued, .queued])
        let partsFolder = h.out.appendingPathComponent("rec/.reprise-parts/job-\(parent.id)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: partsFolder.path).count, 3, "the chunks are published")

        let cancel = try Reprise.run(["jobs", "cancel", String(parent.id), "--state-dir", h.state.path])
        XCTAssertEqual(cancel.status, 0, cancel.transcript)
        h.stop()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: partsFolder.path).count, 3, "no part ended: nothing removed yet")
        // Over a lease after the cancel, a node starting sweeps the ended graph.
        let ended = try XCTUnwrap(try store.job(parent.id)?.finishedAt)
        XCTAssertTrue(pollUntil(timeout: 30) { Date().timeIntervalSince(ended) > 3.5 })
        h.process = try h.launch(["--chunk-seconds", "4"])
        var files: [String] = []
        XCTAssertTrue(pollUntil(timeout: 30) { files = h.outputFiles(); return files == ["rec"] }, "parts left after the sweep: \(files)")
    }
}
