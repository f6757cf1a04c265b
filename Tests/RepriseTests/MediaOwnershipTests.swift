import CFFmpeg
import Foundation
import XCTest
@testable import RepriseMedia

/// Failure paths of the FFmpeg owners: an init that throws must free its context exactly once
/// (a class whose init throws after every stored property is set still runs `deinit`). Each case
/// runs repeatedly, so a double free or use after free crashes here, or is reported by
/// AddressSanitizer in CI (`swift test --sanitize=address`).
final class MediaOwnershipTests: XCTestCase {
    let rounds = 25

    func testDemuxerRejectsFilesThatAreNotMedia() throws {
        let dir = ScratchSpace.makeFolder("ownership-demuxer")
        let text = dir.appendingPathComponent("notes.mp4")
        try Data("this is not a recording\n".utf8).write(to: text)
        let empty = dir.appendingPathComponent("empty.ts")
        try Data().write(to: empty)
        // Looks like an MP4 (an ftyp box) and ends there.
        let stub = dir.appendingPathComponent("stub.mp4")
        try Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)).write(to: stub)
        for _ in 0..<rounds {
            for path in [text.path, empty.path, stub.path, dir.path, dir.appendingPathComponent("missing.mkv").path] {
                XCTAssertThrowsError(try Demuxer(path: path), path)
            }
        }
    }

    func testEncoderWithImpossibleSettingsThrows() throws {
        for _ in 0..<rounds {
            // An unknown preset: libx264 refuses to open (avcodec_open2 fails after the context exists).
            var badPreset = VideoEncoderSettings(codecName: "libx264", width: 64, height: 48,
                                                 pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: TimeBase(1, 25),
                                                 frameRate: AVRational(num: 25, den: 1))
            badPreset.options = ["preset": "no-such-preset"]
            XCTAssertThrowsError(try Encoder(video: badPreset))
            // A 4:2:0 picture of odd size.
            let odd = VideoEncoderSettings(codecName: "libx264", width: 63, height: 47,
                                           pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: TimeBase(1, 25),
                                           frameRate: AVRational(num: 25, den: 1))
            XCTAssertThrowsError(try Encoder(video: odd))
            // No picture at all.
            let empty = VideoEncoderSettings(codecName: "mpeg4", width: 0, height: 0,
                                             pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: TimeBase(1, 25),
                                             frameRate: AVRational(num: 25, den: 1))
            XCTAssertThrowsError(try Encoder(video: empty))
            // An AAC sample rate that does not exist.
            XCTAssertThrowsError(try Encoder(audio: AudioEncoderSettings(sampleRate: 1234, channels: 2, bitRate: 128_000)))
            // An encoder this build does not have (fails before any context is made).
            var missing = badPreset
            missing.codecName = "no-such-encoder"
            XCTAssertThrowsError(try Encoder(video: missing))
        }
    }

    func testMuxerToUnwritablePlacesOrUnknownFormatsThrows() throws {
        let dir = ScratchSpace.makeFolder("ownership-muxer")
        for n in 0..<rounds {
            let missingFolder = dir.appendingPathComponent("no-such-folder/out-\(n).mp4").path
            XCTAssertThrowsError(try Muxer(path: missingFolder))
            XCTAssertThrowsError(try Muxer(path: missingFolder, formatName: "matroska"))
            XCTAssertThrowsError(try Muxer(path: dir.appendingPathComponent("out-\(n).mp4").path, formatName: "no-such-format"))
            XCTAssertThrowsError(try Muxer(path: dir.appendingPathComponent("out-\(n).unknown-extension").path))
        }
        // Nothing half-made is left behind, and nothing stays registered for removal.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// A muxer dropped without finishing removes its temporary file (deinit discards it).
    func testMuxerDroppedUnfinishedRemovesItsTemporaryFile() throws {
        let dir = ScratchSpace.makeFolder("ownership-drop")
        for n in 0..<rounds {
            let path = dir.appendingPathComponent("out-\(n).mkv").path
            var temporary = ""
            do {
                let muxer = try Muxer(path: path)
                temporary = muxer.temporaryPath
                XCTAssertTrue(FileManager.default.fileExists(atPath: temporary))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
    }

    /// Registering and unregistering from many threads at once (the signal handler's snapshot is
    /// rebuilt and swapped each time): no crash, no leak of entries.
    func testTemporaryFilesRegistrationFromManyThreads() {
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let path = "/nonexistent/reprise-ownership-\(t)-\(i)"
                TemporaryFiles.shared.register(path)
                TemporaryFiles.shared.registerFolder(path + ".d")
                TemporaryFiles.shared.unregister(path)
                TemporaryFiles.shared.unregisterFolder(path + ".d")
            }
        }
    }
}
