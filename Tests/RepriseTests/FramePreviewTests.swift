import Foundation
import RepriseConsole
import XCTest

/// Exact-frame previews (`FramePreviewer`): the JPEG shows the frame a cut starting at the time
/// would start with, read back from its barcode by an outside decoder (the ffmpeg program).
final class FramePreviewTests: XCTestCase {
    private let previewer = FramePreviewer(capacity: 3)

    /// The barcode index the JPEG shows (decoded by ffmpeg to gray), nil when unreadable.
    private func shownIndex(_ image: FramePreviewImage, file: StaticString = #filePath, line: UInt = #line) throws -> Int? {
        XCTAssertEqual(Array(image.data.prefix(2)), [0xFF, 0xD8], "a JPEG starts with SOI", file: file, line: line)
        let url = ScratchSpace.makeFolder("preview").appendingPathComponent("f\(image.frameIndex).jpg")
        try image.data.write(to: url)
        let gray = try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-i", url.path,
                                                     "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        XCTAssertEqual(gray.count, image.width * image.height, "the JPEG is \(image.width)x\(image.height)", file: file, line: line)
        guard gray.count == image.width * image.height else { return nil }
        return gray.withUnsafeBytes { Barcode(width: image.width, height: image.height).read($0.bindMemory(to: UInt8.self)) }
    }

    /// Previews at `times` show the frames `expected` (index on the timeline and barcode alike);
    /// frame n lies at `start + n / fps` (a TS's video starts a little after its audio).
    private func check(_ url: URL, times: [Double], expected: [Int], fps: Double = 30, start: Double = 0,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(times.count, expected.count, file: file, line: line)
        XCTAssertFalse(times.isEmpty, file: file, line: line)
        for (t, n) in zip(times, expected) {
            let image = try previewer.jpeg(recording: url.path, at: t)
            XCTAssertEqual(image.frameIndex, n, "frame at \(t) s", file: file, line: line)
            XCTAssertEqual(image.seconds, start + Double(n) / fps, accuracy: 0.001, "time of the frame at \(t) s", file: file, line: line)
            XCTAssertEqual(try shownIndex(image), n, "barcode of the preview at \(t) s", file: file, line: line)
        }
    }

    // MARK: which frame

    /// H.264 with 3 B-frames, keyframes every 30 frames (1 s): the start, a keyframe and the frames
    /// either side of it, mid-GOP times between two frames, the last frame.
    func testTimesInABFrameRecordingShowTheFrameACutStartsWith() throws {
        let fixture = try Fixtures.get(.h264MP4)
        let times = [0, 119.0 / 30, 4.0, 4.0 + 0.001, 4.5, 5.01, 7.0 - 0.5 / 30, 299.0 / 30]
        try check(fixture.url, times: times, expected: [0, 119, 120, 121, 135, 151, 210, 299])
        XCTAssertEqual(try previewer.prepare(recording: fixture.url.path), FramePreviewTimeline(frameCount: 300, duration: 10))
        let image = try previewer.jpeg(recording: fixture.url.path, at: 4.5)
        XCTAssertEqual([image.width, image.height], [320, 240], "never enlarged past the source")
    }

    /// Frame numbers (moving an edge one frame at a time), across a keyframe and in both directions.
    func testFrameIndicesStepOneFrameAtATime() throws {
        let path = try Fixtures.get(.h264MP4).url.path
        for n in [0, 1, 28, 29, 30, 31, 32, 61, 60, 59, 298, 299] {
            let image = try previewer.jpeg(recording: path, frameIndex: n)
            XCTAssertEqual(image.frameIndex, n)
            XCTAssertEqual(image.seconds, Double(n) / 30, accuracy: 0.001)
            XCTAssertEqual(try shownIndex(image), n, "barcode of f\(n)")
        }
    }

    /// HEVC with open GOPs: frames just before a CRA are its leading pictures, decoded from the GOP before.
    func testOpenGOPHEVCLeadingPictures() throws {
        let path = try Fixtures.get(.hevcMP4).url.path
        for n in [0, 27, 29, 30, 31, 59, 60, 239] {
            XCTAssertEqual(try shownIndex(try previewer.jpeg(recording: path, frameIndex: n)), n, "barcode of f\(n)")
        }
    }

    /// Smaller than the source: at most `maxWidth` wide, the source's shape, even sides, still readable.
    func testScaledDownKeepsTheShape() throws {
        let path = try Fixtures.get(.h264MP4).url.path
        let image = try previewer.jpeg(recording: path, at: 2.0, maxWidth: 161)
        XCTAssertEqual([image.width, image.height], [160, 120])
        XCTAssertEqual(try shownIndex(image), 60)
    }

    /// A TS whose timestamps jump back at 10 s (two captures joined): times after the reset count
    /// on the closed-up timeline, and the preview shows the frame the cut starts with.
    func testAfterATimestampResetTheFrameIsTheCutsFirst() throws {
        let made = try LiveRecording.tsReset.make()
        // Where frame 0 lies (the TS's video starts a few ms after its audio, the recording's 0).
        let start = try previewer.jpeg(recording: made.url.path, frameIndex: 0).seconds
        XCTAssertEqual(start, 0, accuracy: 0.1)
        let frame = 1.0 / 30
        try check(made.url, times: [start + 299 * frame, start + 299 * frame + 0.01, start + 10, 12.5, 19.0],
                  expected: [299, 300, 300, Int(((12.5 - start) * 30).rounded(.up)), Int(((19.0 - start) * 30).rounded(.up))],
                  start: start)
        // The cut engine itself, as a witness: its first frame from 14.51 s.
        let out = ScratchSpace.makeFolder("preview-cut").appendingPathComponent("cut.mp4")
        let run = try Reprise.run(["cut", made.url.path, "-o", out.path, "--from", "14.51", "--to", "15", "--mode", "exact"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let first = try XCTUnwrap(try VideoReadback.read(out).indices.first ?? nil)
        let image = try previewer.jpeg(recording: made.url.path, at: 14.51)
        XCTAssertEqual(image.frameIndex, first)
        XCTAssertEqual(try shownIndex(image), first)
        XCTAssertEqual(try shownIndex(try previewer.jpeg(recording: made.url.path, frameIndex: 301)), 301)
    }

    /// An FLV reconnect (new sequence header, timestamps from 0 again) and a TS that begins
    /// mid-GOP: frames after the reconnect decode with that run's parameter sets; f0 of the
    /// mid-GOP capture is its first decodable frame.
    func testReconnectAndMidGOPStart() throws {
        let flv = try LiveRecording.flvReconnect.make()
        for n in [0, 299, 300, 301, 450, 599] {
            XCTAssertEqual(try shownIndex(try previewer.jpeg(recording: flv.url.path, frameIndex: n)), n, "FLV barcode of f\(n)")
        }
        let mid = try LiveRecording.midGOP.make()
        let first = try previewer.jpeg(recording: mid.url.path, at: 0)
        XCTAssertEqual(first.frameIndex, 0)
        XCTAssertEqual(try shownIndex(first), mid.firstFrame, "a cut from 0 starts at the first decodable frame")
        let last = mid.frames.count - 1
        XCTAssertEqual(try shownIndex(try previewer.jpeg(recording: mid.url.path, frameIndex: last)), mid.frames.upperBound - 1)
    }

    // MARK: errors and the cache

    func testOutsideTheRecordingAndUnreadableFilesThrowNamingTheFile() throws {
        let path = try Fixtures.get(.h264MP4).url.path
        for t in [-0.5, 10.0, 1e12, .nan, .infinity] {
            let e = expectError(FramePreviewError.self) { try previewer.jpeg(recording: path, at: t) }
            XCTAssertEqual(e?.reason, .outsideRecording, "time \(t)")
            XCTAssertTrue(e?.description.hasPrefix(path + ": ") ?? false, e?.description ?? "")
            XCTAssertTrue(e?.description.contains("outside the recording") ?? false, e?.description ?? "")
        }
        // After the last frame's start but before its end: no cut starts there either.
        let late = expectError(FramePreviewError.self) { try previewer.jpeg(recording: path, at: 9.99) }
        XCTAssertEqual(late?.reason, .outsideRecording)
        XCTAssertTrue(late?.description.contains("f299") ?? false, late?.description ?? "")
        for n in [-1, 300] {
            XCTAssertEqual(expectError(FramePreviewError.self) { try previewer.jpeg(recording: path, frameIndex: n) }?.reason,
                           .outsideRecording, "f\(n)")
        }
        let folder = ScratchSpace.makeFolder("preview-bad")
        let missing = folder.appendingPathComponent("gone.mp4").path
        let text = folder.appendingPathComponent("notes.mp4")
        try Data("not a video\n".utf8).write(to: text)
        for bad in [missing, text.path, folder.path] {
            let e = expectError(FramePreviewError.self) { try previewer.jpeg(recording: bad, at: 1) }
            XCTAssertEqual(e?.reason, .unreadable, e?.description ?? "")
            XCTAssertTrue(e?.description.hasPrefix(bad + ": ") ?? false, e?.description ?? "")
        }
        XCTAssertFalse(previewer.openRecordings.contains(text.path), "an unreadable file is not kept open")
        // The recording still previews after all that.
        XCTAssertEqual(try shownIndex(try previewer.jpeg(recording: path, at: 1)), 30)
    }

    /// Many callers at once over more recordings than are kept open: every preview is right and
    /// no more than `capacity` stay open.
    func testConcurrentCallersAndEviction() throws {
        let paths = [try Fixtures.get(.h264MP4).url.path, try Fixtures.get(.h264MKVOffset).url.path,
                     try Fixtures.get(.h264TSWrap).url.path]
        let small = FramePreviewer(capacity: 2)
        /// What the callers got, gathered under a lock.
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var images: [(Int, FramePreviewImage)] = []
            var failures: [String] = []
            func add(_ n: Int, _ result: Result<FramePreviewImage, Error>) {
                lock.lock(); defer { lock.unlock() }
                switch result {
                case .success(let image): images.append((n, image))
                case .failure(let error): failures.append("\(error)")
                }
            }
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 12) { k in
            let n = (k * 37) % 230
            results.add(n, Result { try small.jpeg(recording: paths[k % 3], frameIndex: n) })
        }
        let images = results.images, failures = results.failures
        XCTAssertEqual(failures, [])
        XCTAssertEqual(images.count, 12)
        for (n, image) in images {
            XCTAssertEqual(image.frameIndex, n)
            XCTAssertEqual(try shownIndex(image), n)
        }
        XCTAssertLessThanOrEqual(small.openRecordings.count, 2)
    }
}
