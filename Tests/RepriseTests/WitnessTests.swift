import Foundation
import XCTest

/// Checks of the test kit itself (no reprise needed): fixtures read back as what they were made
/// to be, and the witnesses can tell a right answer from a wrong one.
final class WitnessTests: XCTestCase {
    func testBarcodeRoundTripsEveryBitPattern() {
        let barcode = Barcode(width: 320, height: 240)
        for index in [0, 1, 2, 29, 30, 255, 256, 4095, 0x5A5A5A, 0xFFFFFF] {
            let pixels = barcode.render(index)
            XCTAssertEqual(pixels.withUnsafeBufferPointer { barcode.read($0) }, index)
        }
        let flat = [UInt8](repeating: 128, count: 320 * 240)
        XCTAssertNil(flat.withUnsafeBufferPointer { barcode.read($0) }, "a flat picture must read as unreadable")
    }

    func testBeepOnsetsAreFoundAtWholeSeconds() {
        let pcm = BeepTrack.pcm(seconds: 4)
        let onsets = pcm.withUnsafeBytes { BeepTrack.onsets(in: $0.bindMemory(to: Int16.self)) }
        // The track starts inside the first beep, so that one is not an onset.
        XCTAssertEqual(onsets.count, 3)
        for (n, onset) in onsets.enumerated() {
            XCTAssertEqual(Double(onset) / 48_000, Double(n + 1), accuracy: 0.0002)
        }
    }

    /// Every standard fixture decodes cleanly, shows frames 0..<N in order at the times it was
    /// made with, and has a beep at every whole second within 1 ms of its video.
    func testFixturesReadBackAsMade() throws {
        for spec in [FixtureSpec.h264MP4, .h264FLV, .h264TSWrap, .h264MKVOffset, .h264MP4Offset,
                     .h264MP4Rotated, .h264MP4VFR, .hevcMP4, .hevc10MP4] {
            let source = try SourceWitness.of(spec)  // throws unless frames read 0..<N in order
            XCTAssertEqual(try DecodeCheck.errors(source.url), "", "\(spec) decodes with errors")
            XCTAssertEqual(source.frameCount, spec.frameCount, "\(spec)")
            // Times from the first frame (the container may start earlier, with the audio's
            // AAC priming: FLV, MPEG-TS, Matroska and MP4 with an offset do).
            XCTAssertEqual(source.times[0], 0, accuracy: 0.025, "\(spec): first frame vs container start")
            for (i, t) in spec.frameTimes.enumerated() where i < source.frameCount {
                if abs(source.times[i] - source.times[0] - t) > 0.0015 {
                    XCTFail("\(spec): frame \(i) at \(source.times[i] - source.times[0]) s, made for \(t) s")
                    break
                }
            }
            if spec.container != .ts {  // TS: FFmpeg's wrap correction moves the start; see the wrap test
                XCTAssertEqual(source.video.formatStart, spec.startOffset, accuracy: 0.1, "\(spec) start time")
            }
            XCTAssertEqual(source.keyframes.first, 0, "\(spec)")
            if spec.timing == .constant {
                XCTAssertEqual(source.keyframes, Array(stride(from: 0, to: spec.frameCount, by: spec.gop)),
                               "\(spec) keyframes")
            }
            XCTAssertEqual(source.video.video.rotation, spec.rotation, "\(spec) rotation")
            let seconds = Set(source.avOffsets.keys)
            XCTAssertTrue(seconds.isSuperset(of: 1..<spec.seconds), "\(spec): beeps found by second: \(seconds.sorted())")
            for (second, offset) in source.avOffsets {
                XCTAssertEqual(offset, 0, accuracy: 0.001, "\(spec): A/V offset at \(second) s")
            }
        }
    }

    func testTSFixturePTSWrapsInsideTheFile() throws {
        let source = try SourceWitness.of(.h264TSWrap)
        let pts = try TSTimestamps.rawPTS(source.url)
        XCTAssertGreaterThan(pts.count, 100)
        XCTAssertGreaterThan(pts.first ?? 0, (1 << 33) - 10 * 90_000, "starts within 10 s of the wrap")
        XCTAssertTrue(pts.contains { $0 < 10 * 90_000 }, "has PTS after the wrap")
        // Player time keeps running through the wrap.
        XCTAssertEqual(source.duration, 8, accuracy: 0.05)
    }

    func testHEVCFixtureHasOpenGOPs() throws {
        let source = try SourceWitness.of(.hevcMP4)
        // A packet after a keyframe (decode order) that is shown before it: a leading picture.
        let gops = source.gops
        XCTAssertGreaterThan(gops.count, 2)
        let second = gops[1]
        let key = source.packetFrame[second.lowerBound]
        XCTAssertTrue(second.contains { source.packetFrame[$0] < key }, "second GOP has no leading pictures")
    }

    /// The copy witness finds GOPs in a stream copy and does not find them in a re-encode.
    func testCopyWitnessTellsCopiesFromReencodes() throws {
        let source = try SourceWitness.of(.h264MP4)
        let folder = ScratchSpace.makeFolder("copy-witness")
        let copy = folder.appendingPathComponent("copy.mp4")
        let reencoded = folder.appendingPathComponent("reencoded.mp4")
        let annexB = folder.appendingPathComponent("copy.ts")
        try Subprocess.checked("ffmpeg", ["-v", "error", "-ss", "2", "-i", source.url.path, "-t", "3",
                                          "-map", "0:v", "-c", "copy", copy.path])
        try Subprocess.checked("ffmpeg", ["-v", "error", "-ss", "2", "-i", source.url.path, "-t", "3",
                                          "-map", "0:v", "-c", "copy", annexB.path])
        try Subprocess.checked("ffmpeg", ["-v", "error", "-ss", "2", "-i", source.url.path, "-t", "3",
                                          "-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", reencoded.path])
        let runs = source.packetsToCopy([CutRange(from: 2, to: 5)])
        XCTAssertEqual(runs.count, 3)
        XCTAssertEqual(try PacketWitness.read(copy).findCopies(of: runs, from: source).missing, [])
        XCTAssertEqual(try PacketWitness.read(annexB).findCopies(of: runs, from: source).missing, [])
        XCTAssertEqual(try PacketWitness.read(reencoded).findCopies(of: runs, from: source).found.count, 0)
    }

    /// The frame and A/V witnesses accept an exact (re-encoded) cut made by ffmpeg itself, and
    /// notice a 5 ms audio delay.
    func testReadbackOfAnFFmpegReferenceCut() throws {
        let source = try SourceWitness.of(.h264MP4)
        let folder = ScratchSpace.makeFolder("reference-cut")
        let good = folder.appendingPathComponent("good.mp4")
        let late = folder.appendingPathComponent("late.mp4")
        for (url, delay) in [(good, 0), (late, 5)] {
            try Subprocess.checked("ffmpeg", [
                "-v", "error", "-i", source.url.path, "-filter_complex",
                "[0:v]trim=start=2.5:end=6,setpts=PTS-STARTPTS[v];"
                + "[0:a]atrim=start=2.5:end=6,asetpts=PTS-STARTPTS,adelay=\(delay),atrim=end=3.5[a]",
                "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", url.path])
        }
        let video = try VideoReadback.read(good)
        XCTAssertEqual(video.indices.compactMap { $0 }, source.indices(from: 2.5, to: 6))
        let goodSync = AVSync.measure(video: video, audio: try XCTUnwrap(AudioReadback.read(good)), source: source)
        XCTAssertEqual(goodSync.missing, [])
        XCTAssertEqual(goodSync.offsets.keys.sorted(), [3, 4, 5])
        for (second, offset) in goodSync.offsets { XCTAssertEqual(offset, 0, accuracy: 0.001, "good cut, beep at \(second) s") }
        let lateSync = AVSync.measure(video: try VideoReadback.read(late),
                                      audio: try XCTUnwrap(AudioReadback.read(late)), source: source)
        // The same three beeps are measured in the late cut, each 5 ms late.
        XCTAssertEqual(lateSync.missing, [])
        XCTAssertEqual(lateSync.offsets.keys.sorted(), [3, 4, 5], "beeps measured in the late cut")
        for (second, offset) in lateSync.offsets { XCTAssertEqual(offset, 0.005, accuracy: 0.001, "late cut, beep at \(second) s") }
    }
}
