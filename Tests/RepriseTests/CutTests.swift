import Foundation
import XCTest

/// `reprise cut` as a black box: which source frames the output holds, their timing, packet
/// order, copied packets, audio length and A/V sync — all read back with ffmpeg/ffprobe.
///
/// Ranges are `[from, to)` in seconds from the recording's start (its container start time).
/// Expected frames come from the source's own frame times (see `SourceWitness`), never from
/// index × 1/fps.
final class CutTests: XCTestCase {
    // MARK: helpers

    /// Cut arguments `--from fA --to fB` and the range they mean.
    private func frames(_ source: SourceWitness, _ a: Int, _ b: Int) -> ([String], CutRange) {
        (["--from", "f\(a)", "--to", "f\(b)"], CutRange(from: source.times[a], to: source.times[b]))
    }

    private func seconds(_ from: String, _ to: String) -> ([String], CutRange) {
        (["--from", from, "--to", to], CutRange(from: Double(from)!, to: Double(to)!))
    }

    /// Smart cut of one range: exact frames, timing, DTS, audio; and, when the source has whole
    /// GOPs inside the range, those GOPs copied unchanged.
    private func assertSmartCut(_ spec: FixtureSpec, _ args: [String], _ range: CutRange, ext: String = "mp4",
                                expectCopies: Bool = true,
                                file: StaticString = #filePath, line: UInt = #line) throws -> CutOutcome {
        let cut = try CutOutcome.cut(spec, args, ext: ext)
        cut.assertExactCut([range], file: file, line: line)
        if expectCopies, cut.succeeded {
            XCTAssertGreaterThan(cut.assertCopies([range], file: file, line: line), 0,
                                 "test range holds no whole GOP: it cannot check copying", file: file, line: line)
        }
        return cut
    }

    // MARK: H.264 with B-frames in MP4: where the cut falls against the GOPs

    /// Both ends on keyframes (2.0 s = frame 60, 5.0 s = frame 150): frames 60…149, all three
    /// GOPs copied byte for byte; a frame exactly at `from` is in, one exactly at `to` is out.
    func testH264CutOnKeyframesCopiesWholeGOPs() throws {
        let source = try SourceWitness.of(.h264MP4)
        XCTAssertTrue(source.keyframes.contains(60) && source.keyframes.contains(150))
        let (args, range) = seconds("2.0", "5.0")
        let cut = try assertSmartCut(.h264MP4, args, range)
        XCTAssertEqual(cut.video?.indices.first, 60)
        XCTAssertEqual(cut.video?.indices.last, 149)
        XCTAssertEqual(source.packetsToCopy([range]).count, 3)
    }

    /// Starts one frame after a keyframe (f61) and ends one after another (f211).
    func testH264CutOneFrameAfterKeyframe() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 61, 211)
        let cut = try assertSmartCut(.h264MP4, args, range)
        XCTAssertEqual(cut.video?.indices.first, 61)
        XCTAssertEqual(cut.video?.indices.last, 210)
    }

    /// Starts one frame before a keyframe (f59) and ends one before another (f179).
    func testH264CutOneFrameBeforeKeyframe() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 59, 179)
        let cut = try assertSmartCut(.h264MP4, args, range)
        XCTAssertEqual(cut.video?.indices.first, 59)
        XCTAssertEqual(cut.video?.indices.last, 178)
    }

    /// From 0: the recording's first frame is in.
    func testH264CutFromFirstFrame() throws {
        let (args, range) = seconds("0", "1.5")
        let cut = try assertSmartCut(.h264MP4, args, range)
        XCTAssertEqual(cut.video?.indices.first, 0)
        XCTAssertEqual(cut.video?.indices.count, 45)
    }

    /// To the end of the recording: its last frame is in.
    func testH264CutToLastFrame() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = seconds("8.2", "10")
        let cut = try assertSmartCut(.h264MP4, args, range)
        XCTAssertEqual(cut.video?.indices.last, source.frameCount - 1)
    }

    /// A one-frame cut in the middle of a GOP holds exactly that frame.
    func testH264OneFrameCut() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 100, 101)
        let cut = try assertSmartCut(.h264MP4, args, range, expectCopies: false)
        XCTAssertEqual(cut.video?.indices, [100])
    }

    /// A one-frame cut of the recording's very last frame.
    func testH264OneFrameCutOfLastFrame() throws {
        let source = try SourceWitness.of(.h264MP4)
        let last = source.frameCount - 1
        let range = CutRange(from: source.times[last], to: source.duration)
        let cut = try assertSmartCut(.h264MP4, ["--from", "f\(last)", "--to", "10"], range, expectCopies: false)
        XCTAssertEqual(cut.video?.indices, [last])
    }

    /// `HH:MM:SS.mmm` and `MM:SS` mean the same times as seconds.
    func testTimeSyntaxHoursMinutesSeconds() throws {
        let cut = try CutOutcome.cut(.h264MP4, ["--from", "00:00:02.500", "--to", "00:06"])
        cut.assertExactCut([CutRange(from: 2.5, to: 6)])
    }

    // MARK: reels, modes, output containers

    /// Three ranges from a --segments file (numbers and strings), written as one output in order;
    /// joins are seamless (timing), GOPs inside each range copied, and sound in sync on both sides
    /// of each join: the last beep before it and the first after it are measured, and each keeps
    /// the source's A/V offset to 1.5 ms.
    func testReelOfThreeRangesFromSegmentsFile() throws {
        let json = #"[{"from": "1.5", "to": "3.5"}, {"from": 5, "to": 7}, {"from": "8.2", "to": "9.1"}]"#
        let ranges = [CutRange(from: 1.5, to: 3.5), CutRange(from: 5, to: 7), CutRange(from: 8.2, to: 9.1)]
        let cut = try CutOutcome.cut(.h264MP4, segments: json)
        cut.assertExactCut(ranges)
        guard cut.succeeded else { return }
        XCTAssertEqual(cut.assertCopies(ranges), 3)
        let video = try XCTUnwrap(cut.video, "no video read back")
        let audio = try XCTUnwrap(cut.audio, "no audio read back")
        let sync = AVSync.measure(video: video, audio: audio, source: cut.source)
        // The beeps inside the ranges (source seconds): 2 and 3, 5 and 6, 9.
        XCTAssertEqual(sync.offsets.keys.sorted(), [2, 3, 5, 6, 9], "beeps measured, by source second")
        // Join 1 (3.5 s → 5 s): beeps 3 and 5; join 2 (7 s → 8.2 s): beeps 6 and 9.
        for (join, sides) in [(1, [3, 5]), (2, [6, 9])] {
            for second in sides {
                guard let offset = sync.offsets[second] else {
                    XCTFail("join \(join): the beep at source \(second) s was not measured")
                    continue
                }
                let reference = try XCTUnwrap(cut.source.avOffsets[second], "the source's beep at \(second) s")
                XCTAssertEqual(offset * 1000, reference * 1000, accuracy: 1.5,
                               "join \(join): A/V offset (ms) at the beep of source second \(second)")
            }
        }
    }

    /// --mode exact: the same frames, all re-encoded.
    func testExactModeGivesTheSameFrames() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 61, 200)
        let cut = try CutOutcome.cut(.h264MP4, args + ["--mode", "exact"])
        cut.assertExactCut([range], mode: "exact")
    }

    /// --mode keyframe: starts at the keyframe at or before `from`, frames contiguous, covers the
    /// range and stops before the GOP after `to`.
    func testKeyframeModeStartsAtKeyframeBeforeFrom() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 75, 200)
        let cut = try CutOutcome.cut(.h264MP4, args + ["--mode", "keyframe"])
        cut.assertSucceeded(mode: "keyframe")
        guard cut.succeeded else { return }
        cut.assertTiming()
        cut.assertDTSIncreasing()
        cut.assertAudio()
        let got = cut.video?.indices.compactMap { $0 } ?? []
        let wanted = source.indices([range])
        guard let first = got.first, let last = got.last else { return XCTFail("no frames") }
        XCTAssertEqual(first, source.keyframe(atOrBefore: 75), "must start at the keyframe at or before from")
        XCTAssertEqual(got, Array(first...last), "frames must be contiguous")
        XCTAssertGreaterThanOrEqual(last, wanted.last!, "must cover the range")
        if let next = source.keyframe(after: wanted.last!) {
            XCTAssertLessThan(last, next, "must not run into the GOP after to")
        }
    }

    /// Matroska output of an H.264 MP4: exact frames, copied GOPs.
    func testOutputMKV() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 45, 200)
        _ = try assertSmartCut(.h264MP4, args, range, ext: "mkv")
    }

    /// MPEG-TS output of an H.264 MP4: exact frames, copied GOPs (compared NAL by NAL, since
    /// TS carries start codes), video first in the file.
    func testOutputMPEGTS() throws {
        let source = try SourceWitness.of(.h264MP4)
        let (args, range) = frames(source, 45, 200)
        _ = try assertSmartCut(.h264MP4, args, range, ext: "ts")
    }

    // MARK: HEVC

    /// x265's default open GOP (CRA keyframes with leading pictures): a cut from mid-GOP to
    /// mid-GOP has exactly the right frames and decodes without error.
    func testHEVCOpenGOPCut() throws {
        let source = try SourceWitness.of(.hevcMP4)
        let (args, range) = frames(source, 40, 200)
        let cut = try CutOutcome.cut(.hevcMP4, args)
        cut.assertExactCut([range])
        XCTAssertEqual(cut.video?.video.codec_name, "hevc")
    }

    /// The same cut copies the GOPs inside the range: every packet of the later ones, and of the
    /// first one all but its leading pictures (which refer to frames before the range). The first
    /// copied packet may carry the source's VPS/SPS/PPS in front.
    func testHEVCOpenGOPSmartCutCopiesInteriorGOPs() throws {
        let source = try SourceWitness.of(.hevcMP4)
        let (args, range) = frames(source, 40, 200)
        let cut = try CutOutcome.cut(.hevcMP4, args)
        XCTAssertTrue(cut.succeeded, cut.run.transcript)
        guard cut.succeeded else { return }
        XCTAssertEqual(cut.assertCopies([range]), 4)
    }

    /// 10-bit HEVC: exact frames, and the output stays Main 10 / yuv420p10le.
    func testHEVC10BitCutKeepsBitDepth() throws {
        let source = try SourceWitness.of(.hevc10MP4)
        let (args, range) = frames(source, 20, 140)
        let cut = try CutOutcome.cut(.hevc10MP4, args)
        cut.assertExactCut([range])
        XCTAssertEqual(cut.video?.video.pix_fmt, "yuv420p10le")
        XCTAssertEqual(cut.video?.video.profile, "Main 10")
    }

    // MARK: inputs: containers, timestamps, rotation, VFR

    /// FLV input (H.264 without B-frames, 25 fps, millisecond timestamps).
    func testFLVInput() throws {
        let source = try SourceWitness.of(.h264FLV)
        let (args, range) = frames(source, 37, 160)
        _ = try assertSmartCut(.h264FLV, args, range)
    }

    /// MPEG-TS input whose 33-bit PTS wraps about 2.3 s in; the range runs across the wrap.
    func testMPEGTSInputAcrossPTSWrap() throws {
        let source = try SourceWitness.of(.h264TSWrap)
        let (args, range) = seconds("1.5", "5.5")
        let cut = try assertSmartCut(.h264TSWrap, args, range)
        XCTAssertGreaterThan(cut.video?.frames.count ?? 0, 100)
        XCTAssertEqual(source.frameCount, 240)
    }

    /// Matroska input whose timestamps start at 1000 s: times count from its start.
    func testMKVInputStartingAt1000s() throws {
        let (args, range) = seconds("2.5", "6.2")
        _ = try assertSmartCut(.h264MKVOffset, args, range)
    }

    /// MP4 input whose timestamps start at 1000 s.
    func testMP4InputStartingAt1000s() throws {
        let source = try SourceWitness.of(.h264MP4Offset)
        let (args, range) = frames(source, 45, 200)
        _ = try assertSmartCut(.h264MP4Offset, args, range)
    }

    /// A 90°-rotated MP4: the output keeps the rotation, and its stored frames are the source's
    /// (read without autorotation).
    func testRotatedInputKeepsRotation() throws {
        let source = try SourceWitness.of(.h264MP4Rotated)
        let (args, range) = frames(source, 20, 130)
        let cut = try assertSmartCut(.h264MP4Rotated, args, range)
        XCTAssertEqual(source.video.video.rotation, 90)
        XCTAssertEqual(cut.video?.video.rotation, source.video.video.rotation, "rotation")
        XCTAssertEqual(cut.video?.video.width, source.video.video.width)
        XCTAssertEqual(cut.video?.video.height, source.video.video.height)
    }

    /// Variable frame rate (30 → 15 → 30 fps): a cut across both rate changes keeps each frame's
    /// own time (never index × 1/fps).
    func testVFRInputKeepsFrameTimes() throws {
        let source = try SourceWitness.of(.h264MP4VFR)
        let (args, range) = seconds("2.5", "7.0")
        let cut = try CutOutcome.cut(.h264MP4VFR, args)
        cut.assertExactCut([range])
        guard let video = cut.video, let first = video.frames.first?.index else { return }
        for frame in video.frames {
            guard let index = frame.index else { continue }
            XCTAssertEqual(frame.time - video.frames[0].time, source.times[index] - source.times[first],
                           accuracy: CutOutcome.tolerance, "time of source frame \(index)")
        }
    }

    // MARK: the very first frames of containers that seek by byte or by generic index

    /// FLV (often no seek index) from its first frame: the cut must start reading at the top.
    func testFLVInputFromFirstFrame() throws {
        let source = try SourceWitness.of(.h264FLV)
        let (args, range) = frames(source, 0, 40)
        let cut = try assertSmartCut(.h264FLV, args, range)
        XCTAssertEqual(cut.video?.indices.first, 0)
    }

    /// MPEG-TS (seeks by byte from the packet index) from its first frame.
    func testMPEGTSInputFromFirstFrame() throws {
        let source = try SourceWitness.of(.h264TSWrap)
        let (args, range) = frames(source, 0, 45)
        let cut = try assertSmartCut(.h264TSWrap, args, range)
        XCTAssertEqual(cut.video?.indices.first, 0)
    }

    /// Matroska starting at 1000 s, cut from its first frame.
    func testMKVInputFromFirstFrame() throws {
        let source = try SourceWitness.of(.h264MKVOffset)
        let (args, range) = frames(source, 0, 70)
        let cut = try assertSmartCut(.h264MKVOffset, args, range)
        XCTAssertEqual(cut.video?.indices.first, 0)
    }
}
