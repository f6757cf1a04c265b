import Foundation
import XCTest
@testable import RepriseProfiles

/// `reprise transcode` as a black box. Every output is read back with ffmpeg/ffprobe: its size
/// against the no-upscale rule, pixel aspect, rotation, frame rate, codec and encoder profile,
/// WHICH source frames it holds (the `.bands` code, read wherever the contract says the source
/// picture lies), their timing, keyframe spacing, bitrate caps, audio and loudness (`ebur128`),
/// and the `--json` result against all of that.
///
/// The witness tests at the top check the fixtures, the band reader and the measuring methods with
/// the ffmpeg program alone, so a failure further down is the product's, not the test's.
final class TranscodeTests: XCTestCase {
    // MARK: witnesses: fixtures and readers checked with ffmpeg alone

    /// The `.bands` fixtures read back as 0..<N, and the square is where it was drawn in every frame.
    func testWitnessBandFixturesReadBackFrameByFrame() throws {
        for spec in [FixtureSpec.bands169, .bands43, .bands60, .bandsNoisy, .bands1080] {
            let fixture = try Fixtures.get(spec)
            let frames = try GrayFrames.decode(fixture.url)
            let code = spec.bandsCode
            let content = ContentRect(x: 0, y: 0, width: Double(spec.width), height: Double(spec.height))
            XCTAssertEqual(frames.count, spec.frameCount, "\(spec)")
            let indices = (0..<frames.count).map { code.read(frames[$0], content: content) }
            XCTAssertEqual(indices, (0..<spec.frameCount).map { $0 }, "\(spec) does not read back as 0..<N")
            for n in 0..<frames.count {
                let seen = code.sightSquare(frames[n], content: content)
                XCTAssertEqual(seen?.left ?? -1, code.squareLeft(n), accuracy: 3, "\(spec) frame \(n): square")
            }
        }
    }

    /// The reader finds the index and the square wherever the source picture lies: after ffmpeg's
    /// own centre crop to 9:16, pillarbox to 16:9, downscale + letterbox, and a blur-pad made with
    /// ffmpeg's filters (whose surround really is smoother than the picture: the blur check below
    /// is calibrated on it).
    func testWitnessReaderFollowsFFmpegCropPadAndBlurPad() throws {
        struct Case { var spec: FixtureSpec; var filter: String; var size: (Int, Int); var fit: Placement.Fit }
        let cases = [
            Case(spec: .bands169, filter: "crop=202:360", size: (202, 360), fit: .crop),
            Case(spec: .bands43, filter: "crop=270:480", size: (270, 480), fit: .crop),
            Case(spec: .bands43, filter: "pad=854:480:107:0", size: (854, 480), fit: .pad),
            Case(spec: .bands1080, filter: "scale=1080:608,pad=1080:1920:0:656", size: (1080, 1920), fit: .pad),
            Case(spec: .bands169, filter: Self.ffmpegBlurPad(width: 640, height: 1138), size: (640, 1138), fit: .blurPad),
        ]
        for c in cases {
            let fixture = try Fixtures.get(c.spec)
            let frames = try GrayFrames.decode(fixture.url, filter: c.filter, size: c.size)
            let code = c.spec.bandsCode
            let content = Placement.content(source: (c.spec.width, c.spec.height), output: c.size, fit: c.fit)
            let indices = (0..<frames.count).map { code.read(frames[$0], content: content) }
            XCTAssertEqual(indices, (0..<c.spec.frameCount).map { $0 }, "\(c.spec) through \(c.filter)")
            let misplaced = Self.squareMisplacements(frames, code: code, content: content, indices: indices)
            XCTAssertEqual(misplaced, [], "\(c.spec) through \(c.filter): square not where placed")
            if c.fit == .blurPad {
                let blur = Self.blurPadSurround(frames[frames.count / 2], content: content)
                XCTAssertGreaterThan(blur.surroundMean, 40, "ffmpeg blur-pad surround is not black")
                XCTAssertLessThan(blur.surroundEdge, 0.25 * blur.contentEdge, "ffmpeg blur-pad surround is blurred: \(blur)")
            }
        }
    }

    /// The rotation fixture is stored 640x360 with display rotation 90 (counterclockwise); ffmpeg's
    /// autorotation shows it 360x640, and turning that a quarter clockwise gives back the stored
    /// picture. That is how the tests read an upright output.
    func testWitnessRotatedFixtureTurnsBackClockwise() throws {
        let spec = FixtureSpec.bandsRotated
        let fixture = try Fixtures.get(spec)
        let report = try MediaProbe.describe(fixture.url)
        XCTAssertEqual(report.video?.side_data_list?.compactMap(\.rotation).first, 90)
        let upright = try GrayFrames.decode(fixture.url, size: (360, 640), autorotate: true)
        XCTAssertEqual(upright.count, spec.frameCount)
        let code = spec.bandsCode
        let full = ContentRect(x: 0, y: 0, width: 640, height: 360)
        let indices = (0..<upright.count).map { code.read(upright[$0].rotated(clockwise: true), content: full) }
        XCTAssertEqual(indices, (0..<spec.frameCount).map { $0 })
        // The other way round reads nothing sensible: the read is orientation-sensitive.
        let wrong = (0..<upright.count).map { code.read(upright[$0].rotated(clockwise: false), content: full) }
        XCTAssertNotEqual(wrong, indices)
        for n in [0, 20, 40] {
            let seen = code.sightSquare(upright[n].rotated(clockwise: true), content: full)
            XCTAssertEqual(seen?.left ?? -1, code.squareLeft(n), accuracy: 3, "frame \(n)")
        }
    }

    /// libavfilter's fps filter turns the 60 fps fixture's f30..<f150 into every other frame.
    func testWitnessFPSFilterTakesEveryOtherFrame() throws {
        let spec = FixtureSpec.bands60
        let fixture = try Fixtures.get(spec)
        let frames = try GrayFrames.decode(fixture.url, filter: "trim=start_frame=30:end_frame=150,setpts=PTS-STARTPTS,fps=30",
                                           size: (640, 360))
        let full = ContentRect(x: 0, y: 0, width: 640, height: 360)
        let indices = (0..<frames.count).compactMap { spec.bandsCode.read(frames[$0], content: full) }
        XCTAssertEqual(indices, Array(stride(from: 30, to: 150, by: 2)))
    }

    /// The VBV window check has power: x264 itself, capped at 400k/400k, keeps every 1-s window of
    /// the noisy fixture under maxrate × 1 s + buffer; uncapped at CRF 18 it goes far over.
    func testWitnessVBVWindowSeparatesCappedFromUncapped() throws {
        let fixture = try Fixtures.get(.bandsNoisy)
        let folder = ScratchSpace.makeFolder("vbv-witness")
        let bound = 400_000.0 + 400_000.0
        var peaks: [String: Double] = [:]
        for (name, rate) in [("capped", ["-maxrate", "400k", "-bufsize", "400k"]), ("free", [])] {
            let out = folder.appendingPathComponent("\(name).mp4")
            try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-i", fixture.url.path, "-an",
                                              "-c:v", "libx264", "-preset", "veryfast", "-crf", "18"] + rate + [out.path])
            peaks[name] = try TranscodedOutput.read(out).peakBits(window: 1)
        }
        XCTAssertLessThanOrEqual(peaks["capped"] ?? .infinity, bound, "x264's own VBV output breaks the bound: \(peaks)")
        XCTAssertGreaterThan(peaks["free"] ?? 0, 1.5 * bound, "the noisy fixture is not costly enough: \(peaks)")
    }

    /// The audio bed gives a steady, well-defined loudness (ebur128's summary parsed), pitched so
    /// the loudness checks below are fair and have power: the source measures about −18.5 LUFS (a
    /// no-op misses both −14 and −16 by more than 1 LU), the same over a range as over the whole,
    /// and as stereo its true peak sits at most 11 dB over its loudness, so a plain linear gain
    /// reaches −14 LUFS under a −1 dBTP ceiling.
    func testWitnessAudioBedLoudness() throws {
        let fixture = try Fixtures.get(.bands169)
        let whole = try LoudnessWitness.measure(fixture.url)
        let range = try LoudnessWitness.measure(fixture.url, from: 1.5, to: 4.5)
        let stereo = try LoudnessWitness.measure(fixture.url, layout: "stereo")
        XCTAssertTrue((-20.0)...(-17.5) ~= whole.integrated, "\(whole)")
        XCTAssertEqual(whole.integrated, range.integrated, accuracy: 1.0)
        XCTAssertEqual(stereo.integrated, whole.integrated, accuracy: 0.2, "ffmpeg's mono→stereo keeps the loudness")
        XCTAssertLessThanOrEqual(stereo.truePeak - stereo.integrated, 11, "\(stereo): linear gain to -14/-1 impossible")
    }

    // MARK: shipped profiles

    /// Each shipped profile, alone, on a 16:9 640x360 range (a different range syntax each): the
    /// no-upscale size, square pixels, no rotation, ≤ 30 fps, H.264 High/Main, exactly the range's
    /// frames from 0 with exact timing, keyframes every gop_seconds, audio as the profile says,
    /// loudness on target where the profile sets one, beeps in sync where it does not, moov first,
    /// and the JSON result agreeing with ffprobe.
    func testEachShippedProfileOnA16x9Range() throws {
        let cases: [(profile: String, range: [String], frames: Range<Int>)] = [
            ("vertical-short", ["--from", "f45", "--to", "f135"], 45..<135),
            ("long-form", ["--from", "1.5", "--to", "4.5"], 45..<135),
            // A frame exactly at `to` (4.1 s = frame 123) is out; 1.033 s keeps frame 31 (1.0333 s) first.
            ("long-form-720p", ["--from", "00:00:01.033", "--to", "00:00:04.100"], 31..<123),
            ("overseas-low", ["--from", "f31", "--to", "f149"], 31..<149),
        ]
        let spec = FixtureSpec.bands169
        let fixture = try Fixtures.get(spec)
        for c in cases {
            let output = ScratchSpace.makeFolder(c.profile).appendingPathComponent("clip.mp4")
            let run = try TranscodeRun.run(fixture.url, profiles: [c.profile], output: output, extra: c.range)
            guard assertSucceeded(run, outputs: 1) else { continue }
            XCTAssertEqual(run.result?["input"]?.string.map(Self.canonical), Self.canonical(fixture.url.path), "result input")
            let profile = try Self.profile(c.profile)
            try assertRendition(run, profile: profile, output: output, source: spec, indices: Array(c.frames))
        }
    }

    /// Three shipped profiles in one run into a folder that does not exist yet: the folder is
    /// made and holds exactly `<input base>.<profile>.mp4` for each, every one the whole recording.
    func testThreeProfilesInOnePassIntoAFolder() throws {
        let spec = FixtureSpec.bands169
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("renditions").appendingPathComponent("new/out", isDirectory: true)
        let names = ["vertical-short", "long-form-720p", "overseas-low"]
        let run = try TranscodeRun.run(fixture.url, profiles: names, output: folder)
        guard assertSucceeded(run, outputs: 3) else { return }
        let base = fixture.url.deletingPathExtension().lastPathComponent
        XCTAssertEqual(FileSnapshot.listing(folder), names.map { "\(base).\($0).mp4" }.sorted(), "files in the output folder")
        XCTAssertEqual(run.outputs.compactMap { $0["profile"]?.string }.sorted(), names.sorted(), "profiles in the result")
        for name in names {
            try assertRendition(run, profile: try Self.profile(name), output: folder.appendingPathComponent("\(base).\(name).mp4"),
                                source: spec, indices: Array(0..<spec.frameCount))
        }
    }

    /// A 4:3 640x480 source: long-form pads it to about 854x480 (16:9, bars left and right, the
    /// picture at 1:1 in the middle); vertical-short (size: exact) crops its centre and scales it up to 1080x1920.
    func testFourByThreeSourcePillarboxedAndCropped() throws {
        let spec = FixtureSpec.bands43
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("four-three")
        let run = try TranscodeRun.run(fixture.url, profiles: ["long-form", "vertical-short"], output: folder)
        guard assertSucceeded(run, outputs: 2) else { return }
        let base = fixture.url.deletingPathExtension().lastPathComponent
        let long = try assertRendition(run, profile: try Self.profile("long-form"), output: folder.appendingPathComponent("\(base).long-form.mp4"),
                                       source: spec, indices: Array(0..<spec.frameCount))
        if let long {
            XCTAssertEqual(Double(long.width) / Double(long.height), 16.0 / 9, accuracy: 0.01, "long-form aspect \(long.size)")
            XCTAssertEqual(long.height, 480, "long-form height: the 4:3 picture is not scaled")
        }
        let short = try assertRendition(run, profile: try Self.profile("vertical-short"), output: folder.appendingPathComponent("\(base).vertical-short.mp4"),
                                        source: spec, indices: Array(0..<spec.frameCount))
        if let short { XCTAssertEqual([short.width, short.height], [1080, 1920], "vertical-short of 640x480") }
    }

    /// A source stored 640x360 with display rotation 90: the output is upright — 1080x1920, no display
    /// matrix — and turning its pictures back a quarter clockwise reads the range's frames, the
    /// square where it was drawn (so neither mirrored nor turned the wrong way).
    func testRotatedSourceComesOutUpright() throws {
        let spec = FixtureSpec.bandsRotated
        let fixture = try Fixtures.get(spec)
        let output = ScratchSpace.makeFolder("rotated").appendingPathComponent("upright.mp4")
        let run = try TranscodeRun.run(fixture.url, profiles: ["vertical-short"], output: output, extra: ["--from", "f15", "--to", "f75"])
        guard assertSucceeded(run, outputs: 1) else { return }
        let out = try assertRendition(run, profile: try Self.profile("vertical-short"), output: output, source: spec, indices: Array(15..<75))
        if let out {
            XCTAssertEqual([out.width, out.height], [1080, 1920], "upright size: the coded size turned, scaled up to 9:16 exactly")
            XCTAssertFalse(out.video.hasDisplayMatrix, "the output still carries a rotation")
        }
    }

    /// A 60 fps source through a profile capped at 30 fps (vertical-short): 30 fps out, half the
    /// frames of the range, every other source frame, evenly timed.
    func testSixtyFPSSourceIsCappedToThirty() throws {
        let spec = FixtureSpec.bands60
        let fixture = try Fixtures.get(spec)
        let output = ScratchSpace.makeFolder("fps-cap").appendingPathComponent("thirty.mp4")
        let run = try TranscodeRun.run(fixture.url, profiles: ["vertical-short"], output: output, extra: ["--from", "f30", "--to", "f150"])
        guard assertSucceeded(run, outputs: 1) else { return }
        // libavfilter's fps filter keeps f30, f32, … (testWitnessFPSFilterTakesEveryOtherFrame);
        // the other phase (f31, f33, …) is every other frame too.
        let profile = try Self.profile("vertical-short")
        let out = try TranscodedOutput.read(output)
        let content = Placement.content(source: spec.displaySize, output: out.size, fit: .crop)
        let first = out.indices(spec.bandsCode, content: content).first ?? nil
        let phase = first == 31 ? 31 : 30
        try assertRendition(run, profile: profile, output: output, source: spec,
                            indices: Array(stride(from: phase, to: 150, by: 2)), fps: 30)
    }

    /// Recordings as ingest servers write them: FLV (millisecond timestamps) and MPEG-TS. A range
    /// of each through long-form-720p holds exactly the range's frames, timed from 0.
    func testFLVAndMPEGTSRecordingsGiveFrameExactRanges() throws {
        for container in [FixtureSpec.Container.flv, .ts] {
            var spec = FixtureSpec.bands169
            spec.container = container
            let fixture = try Fixtures.get(spec)
            let output = ScratchSpace.makeFolder("ingest-\(container.rawValue)").appendingPathComponent("clip.mp4")
            let run = try TranscodeRun.run(fixture.url, profiles: ["long-form-720p"], output: output, extra: ["--from", "f31", "--to", "f149"])
            guard assertSucceeded(run, outputs: 1) else { continue }
            // The source fits long-form-720p, so its video is copied and keeps FLV's millisecond
            // timestamps (33 or 34 ms apart): their average is 30 fps to within 0.02.
            XCTAssertEqual(run.entry("long-form-720p")?["video"]?["path"]?.string, "copied", run.transcript)
            try assertRendition(run, profile: try Self.profile("long-form-720p"), output: output, source: spec, indices: Array(31..<149),
                                rateTolerance: container == .flv ? 0.02 : 0.01)
        }
    }

    /// --chapters: marks in recording time land in a long-form output (chapters: true) moved to the
    /// range's time and clipped to it; a profile without chapters gets none.
    func testChaptersAreMovedToTheRangeAndClipped() throws {
        let spec = FixtureSpec.bands169
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("chapters")
        let marks = folder.appendingPathComponent("chapters.json")
        try Data(#"[{"start": 0, "title": "Opening"}, {"start": 2.5, "title": "商品 A"}, {"start": 4, "end": 5.5, "title": "Late"}]"#.utf8).write(to: marks)
        let out = folder.appendingPathComponent("out", isDirectory: true)
        let run = try TranscodeRun.run(fixture.url, profiles: ["long-form-720p", "overseas-low"], output: out,
                                       extra: ["--from", "1.5", "--to", "4.5", "--chapters", marks.path])
        guard assertSucceeded(run, outputs: 2) else { return }
        let base = fixture.url.deletingPathExtension().lastPathComponent
        func chapters(_ profile: String) throws -> [(Double, Double, String)] {
            let data = try Subprocess.checked("ffprobe", ["-v", "error", "-show_chapters", "-of", "json",
                                                          out.appendingPathComponent("\(base).\(profile).mp4").path])
            return (JSONValue.parse(data)?["chapters"]?.array ?? []).map {
                (Double($0["start_time"]?.string ?? "") ?? .nan, Double($0["end_time"]?.string ?? "") ?? .nan,
                 $0["tags"]?["title"]?.string ?? "")
            }
        }
        let long = try chapters("long-form-720p")
        XCTAssertEqual(long.map(\.2), ["Opening", "商品 A", "Late"], "chapter titles")
        let expected = [(0.0, 1.0), (1.0, 2.5), (2.5, 3.0)]
        for (got, want) in zip(long, expected) {
            XCTAssertEqual(got.0, want.0, accuracy: 0.002, "chapter start \(got)")
            XCTAssertEqual(got.1, want.1, accuracy: 0.002, "chapter end \(got)")
        }
        XCTAssertEqual(try chapters("overseas-low").count, 0, "overseas-low keeps no chapters")
    }

    // MARK: fits and limits, with small profiles of the tests' own

    /// blur-pad to 1080x1920: a 640x360 source stays 1:1 in a 640x1138 (±2) picture; a 1920x1080
    /// source fills exactly 1080x1920. Either way the picture is centred and readable on every
    /// frame and the surround is a blurred copy (not black, no sharp band edges).
    func testBlurPadKeepsThePictureCentredOverABlurredCopy() throws {
        let dir = try ProfileFolder.make(["tall-blur": """
            name: tall-blur
            video:
              width: 1080
              height: 1920
              fit: blur-pad
              quality: 26
              encoder_options:
                preset: ultrafast
            audio:
              bitrate: 64k
            """])
        let profile = try Self.profile("tall-blur", dir: dir)
        for (spec, range, frames) in [(FixtureSpec.bands169, ["--from", "f30", "--to", "f120"], 30..<120),
                                      (FixtureSpec.bands1080, [], 0..<FixtureSpec.bands1080.frameCount)] {
            let fixture = try Fixtures.get(spec)
            let output = ScratchSpace.makeFolder("blur-pad").appendingPathComponent("tall.mp4")
            let run = try TranscodeRun.run(fixture.url, profiles: ["tall-blur"], output: output, extra: range, profileDirs: [dir])
            guard assertSucceeded(run, outputs: 1) else { continue }
            try assertRendition(run, profile: profile, output: output, source: spec, indices: Array(frames))
        }
    }

    /// follow, 9:16 from 16:9: the crop window finds the square. One second into each scene the
    /// square is fully in the picture in at least 80 % of frames — where a centre crop shows it in
    /// under a third of the first scene's and none of the second's, so the window moved, and it
    /// moved again after the scene cut. Frames are exact as for any fit.
    func testFollowKeepsTheSquareInTheWindow() throws {
        let dir = try ProfileFolder.make(["follow-short": """
            name: follow-short
            video:
              width: 360
              height: 640
              fit: follow
              max_fps: 30
              quality: 23
              encoder_options:
                preset: veryfast
            audio:
              bitrate: 64k
            """])
        let spec = FixtureSpec.bands169
        let fixture = try Fixtures.get(spec)
        let output = ScratchSpace.makeFolder("follow").appendingPathComponent("follow.mp4")
        let run = try TranscodeRun.run(fixture.url, profiles: ["follow-short"], output: output, profileDirs: [dir])
        guard assertSucceeded(run, outputs: 1) else { return }
        guard let out = try assertRendition(run, profile: try Self.profile("follow-short", dir: dir), output: output,
                                            source: spec, indices: Array(0..<spec.frameCount)) else { return }
        let code = spec.bandsCode
        let content = Placement.content(source: spec.displaySize, output: out.size, fit: .crop)
        let indices = out.indices(code, content: content)
        // Frames one second or more into their scene.
        let settle = spec.fps
        func settled(_ i: Int) -> Bool { code.isSecondScene(i) ? i >= code.cutFrame + settle : i >= settle }
        var shown = [0, 0], counted = [0, 0], centreShows = [0, 0]
        let centreLeft = (Double(spec.width) - Double(out.width)) / 2
        for n in 0..<out.frameCount {
            guard let i = indices[n], settled(i) else { continue }
            let scene = code.isSecondScene(i) ? 1 : 0
            counted[scene] += 1
            if code.sightSquare(out.gray[n], content: content, minimumFraction: 0.95) != nil { shown[scene] += 1 }
            let left = Double(code.squareLeft(i))
            if left >= centreLeft, left + Double(code.squareSide) <= centreLeft + Double(out.width) { centreShows[scene] += 1 }
        }
        // The fixture's design: a centre crop would fail this test.
        XCTAssertLessThan(Double(centreShows[0]), 0.34 * Double(counted[0]), "fixture: centre crop shows the square too often")
        XCTAssertEqual(centreShows[1], 0, "fixture: centre crop shows the square in scene 2")
        for scene in 0..<2 {
            XCTAssertGreaterThan(counted[scene], settle, "scene \(scene + 1): too few settled frames read")
            XCTAssertGreaterThanOrEqual(Double(shown[scene]), 0.8 * Double(counted[scene]),
                                        "scene \(scene + 1): square in the window in \(shown[scene]) of \(counted[scene]) settled frames "
                                        + "(centre crop: \(centreShows[scene]))")
        }
    }

    /// max_bitrate + buffer are a cap: on a recording full of noise, every 1-s window of video
    /// packets stays within max_bitrate × 1 s + buffer (the VBV bound). The same profile without
    /// the cap goes well over it, so the check has power.
    func testMaxBitrateCapsEveryOneSecondWindow() throws {
        let common = """
            video:
              width: 640
              height: 360
              fit: pad
              quality: 18
              encoder_options:
                preset: veryfast
            audio:
              bitrate: 64k
            """
        let dir = try ProfileFolder.make([
            "capped": "name: capped\n" + common.replacingOccurrences(of: "  quality: 18\n", with: "  quality: 18\n  max_bitrate: 1M\n  buffer: 1M\n"),
            "uncapped": "name: uncapped\n" + common,
        ])
        let spec = FixtureSpec.bandsNoisy
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("vbv")
        let run = try TranscodeRun.run(fixture.url, profiles: ["capped", "uncapped"], output: folder, profileDirs: [dir])
        guard assertSucceeded(run, outputs: 2) else { return }
        let base = fixture.url.deletingPathExtension().lastPathComponent
        // 1 Mb/s: enough for the square's edges to stay where they are (at 400k the starved last
        // frames smear it by a few pixels), still far under what the noise costs uncapped (~5.6 Mb/s).
        let bound = 1_000_000.0 * 1 + 1_000_000.0
        let capped = try assertRendition(run, profile: try Self.profile("capped", dir: dir), output: folder.appendingPathComponent("\(base).capped.mp4"),
                                         source: spec, indices: Array(0..<spec.frameCount))
        let free = try TranscodedOutput.read(folder.appendingPathComponent("\(base).uncapped.mp4"))
        if let capped {
            XCTAssertLessThanOrEqual(capped.peakBits(window: 1), bound, "capped: bits in the busiest 1-s window")
        }
        XCTAssertGreaterThan(free.peakBits(window: 1), 1.5 * bound, "uncapped: the test's source is not costly enough to test the cap")
    }

    /// duration.max truncates: a 5-s range through a profile with `max: 2` holds exactly its first
    /// 2 s (60 frames), and the result says so in a note.
    func testDurationMaxTruncatesWithANote() throws {
        let dir = try ProfileFolder.make(["two-seconds": """
            name: two-seconds
            video:
              width: 640
              height: 360
              fit: pad
              quality: 23
              encoder_options:
                preset: ultrafast
            duration:
              max: 2
            """])
        let spec = FixtureSpec.bands169
        let output = ScratchSpace.makeFolder("max-duration").appendingPathComponent("short.mp4")
        let run = try TranscodeRun.run(try Fixtures.get(spec).url, profiles: ["two-seconds"], output: output,
                                       extra: ["--from", "f30", "--to", "f180"], profileDirs: [dir])
        guard assertSucceeded(run, outputs: 1) else { return }
        try assertRendition(run, profile: try Self.profile("two-seconds", dir: dir), output: output, source: spec, indices: Array(30..<90))
        XCTAssertFalse(run.entry("two-seconds")?["notes"]?.array?.isEmpty ?? true, "no note about the truncation:\n\(run.transcript)")
    }

    /// `upscale: true` lets a 640x360 source fill a 1280x720 target (the only way to get bigger).
    func testUpscaleTrueFillsTheTarget() throws {
        let dir = try ProfileFolder.make(["big": """
            name: big
            video:
              width: 1280
              height: 720
              fit: pad
              upscale: true
              quality: 26
              encoder_options:
                preset: ultrafast
            """])
        let spec = FixtureSpec.bands169
        let output = ScratchSpace.makeFolder("upscale").appendingPathComponent("big.mp4")
        let run = try TranscodeRun.run(try Fixtures.get(spec).url, profiles: ["big"], output: output,
                                       extra: ["--from", "f0", "--to", "f45"], profileDirs: [dir])
        guard assertSucceeded(run, outputs: 1) else { return }
        let out = try assertRendition(run, profile: try Self.profile("big", dir: dir), output: output, source: spec, indices: Array(0..<45))
        if let out { XCTAssertEqual([out.width, out.height], [1280, 720]) }
    }

    /// A --profile-dir file named like a shipped profile replaces it for that run.
    func testProfileDirOverridesAShippedProfile() throws {
        let dir = try ProfileFolder.make(["my-long-form": """
            name: long-form
            video:
              width: 320
              height: 180
              fit: pad
              quality: 26
              encoder_options:
                preset: ultrafast
            """])
        let spec = FixtureSpec.bands169
        let output = ScratchSpace.makeFolder("override").appendingPathComponent("small.mp4")
        let run = try TranscodeRun.run(try Fixtures.get(spec).url, profiles: ["long-form"], output: output,
                                       extra: ["--from", "f0", "--to", "f30"], profileDirs: [dir])
        guard assertSucceeded(run, outputs: 1) else { return }
        let out = try assertRendition(run, profile: try Self.profile("long-form", dir: dir), output: output, source: spec, indices: Array(0..<30))
        if let out { XCTAssertEqual([out.width, out.height], [320, 180], "the override's size") }
    }

    // MARK: errors

    /// An unknown profile name: one error line naming it, non-zero exit, and no output — not the
    /// file, not a partial beside it, not the known profile's file in the folder form.
    func testUnknownProfileIsAnErrorNamingIt() throws {
        let fixture = try Fixtures.get(.bands169)
        let folder = ScratchSpace.makeFolder("unknown")
        let output = folder.appendingPathComponent("out.mp4")
        try assertRejected(try TranscodeRun.run(fixture.url, profiles: ["no-such-profile"], output: output),
                           naming: "no-such-profile", folder: folder, output: output)
        let outFolder = folder.appendingPathComponent("many", isDirectory: true)
        let run = try TranscodeRun.run(fixture.url, profiles: ["long-form", "no-such-profile"], output: outFolder)
        try assertRejected(run, naming: "no-such-profile", folder: folder, output: output)
        XCTAssertEqual(FileSnapshot.listing(outFolder), [], "files left in the output folder")
    }

    /// A bad file in --profile-dir: one error line with FILE:LINE and the field; no output.
    func testBadProfileFileIsAnErrorWithFileLineAndField() throws {
        let dir = try ProfileFolder.make(["zoomed": "name: zoomed\nvideo:\n  width: 640\n  fit: zoom\n  height: 360\n  quality: 20\n"])
        let bad = dir.appendingPathComponent("zoomed.yaml").path
        let folder = ScratchSpace.makeFolder("bad-profile")
        let output = folder.appendingPathComponent("out.mp4")
        let run = try TranscodeRun.run(try Fixtures.get(.bands169).url, profiles: ["long-form"], output: output, profileDirs: [dir])
        try assertRejected(run, naming: "\(bad):4", folder: folder, output: output)
        XCTAssertTrue(run.run.output.stderrText.contains("video.fit"), "the field is not named:\n\(run.transcript)")
    }

    /// Inputs that can't be transcoded (a text file named .mp4; an empty range) fail with one line
    /// and leave nothing at the output path or beside it.
    func testFailuresLeaveNothingBehind() throws {
        let folder = ScratchSpace.makeFolder("bad-input")
        let output = folder.appendingPathComponent("out.mp4")
        let text = ScratchSpace.makeFolder("bad-input-src").appendingPathComponent("notes.mp4")
        try Data("This is not a video.\n".utf8).write(to: text)
        try assertRejected(try TranscodeRun.run(text, profiles: ["long-form"], output: output), naming: text.path, folder: folder, output: output)

        let fixture = try Fixtures.get(.bands169)
        try assertRejected(try TranscodeRun.run(fixture.url, profiles: ["long-form"], output: output, extra: ["--from", "4", "--to", "2"]),
                           naming: fixture.url.path, folder: folder, output: output)
    }

    // MARK: checking one output

    /// Loads `name` the way the product does (shipped, then `dir`), as the expectation's source.
    static func profile(_ name: String, dir: URL? = nil) throws -> Profile {
        let library = try ProfileLibrary(folders: [ProfileFolder.shipped.path] + (dir.map { [$0.path] } ?? []))
        guard let profile = library.profile(named: name) else { throw SubprocessError(description: "no profile \(name)") }
        return profile
    }

    static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }

    /// Exit 0, a result line with `outputs` entries, every stdout line JSON.
    @discardableResult
    func assertSucceeded(_ run: TranscodeRun, outputs: Int, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        XCTAssertEqual(run.status, 0, "transcode failed:\n\(run.transcript)", file: file, line: line)
        guard run.status == 0 else { return false }
        XCTAssertEqual(run.result?["event"]?.string, "result", "last stdout line is not the result:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(run.outputs.count, outputs, "outputs in the result:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(run.nonJSONLines, [], "stdout lines that are not JSON objects", file: file, line: line)
        XCTAssertNotNil(run.result?["seconds"]?.double, "result has no seconds", file: file, line: line)
        return run.succeeded
    }

    /// Error contract: non-zero exit, one stderr line `reprise: error: …` naming `naming`, no file at
    /// `output`, and no new file (partial or otherwise) in `folder`.
    func assertRejected(_ run: TranscodeRun, naming: String, folder: URL, output: URL,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNotEqual(run.status, 0, "should fail:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(run.run.stderrLines.count, 1, "want exactly one stderr line:\n\(run.transcript)", file: file, line: line)
        let message = run.run.stderrLines.first ?? ""
        XCTAssertTrue(message.hasPrefix("reprise: error: "), "error line format:\n\(run.transcript)", file: file, line: line)
        XCTAssertTrue(message.contains(naming), "error must name \(naming):\n\(run.transcript)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "output left behind", file: file, line: line)
        let left = FileSnapshot.listing(folder).filter { !["many"].contains($0) }
        XCTAssertEqual(left, [], "files left in the output folder", file: file, line: line)
    }

    /// Everything the contract promises of one output of `run`, made with `profile` from `source`
    /// and meant to hold source frames `indices` (in order) at `fps` (default: the source's rate
    /// capped by the profile). Returns what was read back, nil when the file is missing.
    @discardableResult
    func assertRendition(_ run: TranscodeRun, profile: Profile, output url: URL, source spec: FixtureSpec, indices expected: [Int],
                         fps: Double? = nil, rateTolerance: Double = 0.01,
                         file: StaticString = #filePath, line: UInt = #line) throws -> TranscodedOutput? {
        let what = "\(profile.name) of \(spec)"
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("\(what): no output at \(url.path):\n\(run.transcript)", file: file, line: line)
            return nil
        }
        let out = try TranscodedOutput.read(url)
        let fps = fps ?? min(Double(spec.fps), profile.video.maxFrameRate ?? .infinity)
        let fit = Placement.Fit(rawValue: profile.video.fit.rawValue)!
        let target = (profile.video.width, profile.video.height)
        let mayScaleUp = profile.video.upscale || profile.video.size == .exact

        // Size: the no-upscale rule, even, exact where nothing is capped.
        let wanted = Placement.outputSize(source: spec.displaySize, target: target, fit: fit, upscale: mayScaleUp)
        XCTAssertTrue(out.width % 2 == 0 && out.height % 2 == 0, "\(what): odd size \(out.size)", file: file, line: line)
        if Placement.isExact(source: spec.displaySize, target: target, fit: fit, upscale: mayScaleUp) {
            XCTAssertEqual([out.width, out.height], [target.0, target.1], "\(what): size", file: file, line: line)
        } else {
            XCTAssertTrue(abs(Double(out.width) - wanted.width) <= 2 && abs(Double(out.height) - wanted.height) <= 2,
                          "\(what): size \(out.size), the no-upscale rule gives \(wanted) (±2)", file: file, line: line)
        }
        let sar = out.video.sample_aspect_ratio
        XCTAssertTrue(sar == nil || sar == "1:1" || sar == "0:1", "\(what): pixels not square (SAR \(sar ?? "-"))", file: file, line: line)
        XCTAssertFalse(out.video.hasDisplayMatrix, "\(what): output carries a display rotation", file: file, line: line)

        // Codec, encoder profile, frame rate.
        XCTAssertEqual(out.video.codec_name, profile.video.codec.rawValue, "\(what): video codec", file: file, line: line)
        if let wantedProfile = profile.video.profile {
            let norm = { (s: String) in s.lowercased().replacingOccurrences(of: " ", with: "") }
            XCTAssertEqual(out.video.profile.map(norm), norm(wantedProfile), "\(what): encoder profile", file: file, line: line)
        }
        XCTAssertEqual(FFprobe.rational(out.video.avg_frame_rate) ?? 0, fps, accuracy: rateTolerance, "\(what): average frame rate", file: file, line: line)
        XCTAssertEqual(FFprobe.rational(out.video.r_frame_rate) ?? 0, fps, accuracy: 0.01, "\(what): frame rate", file: file, line: line)

        // Which source frames, read where the picture lies (turned back first if the source was rotated).
        var pictures = (0..<out.frameCount).map { out.gray[$0] }
        var content = Placement.content(source: spec.displaySize, output: out.size, fit: fit == .follow ? .crop : fit)
        switch (spec.rotation % 360 + 360) % 360 {
        case 0: break
        case 90:
            pictures = pictures.map { $0.rotated(clockwise: true) }
            content = content.rotatedClockwise(pictureHeight: out.height)
        case 270:
            pictures = pictures.map { $0.rotated(clockwise: false) }
            content = content.rotatedCounterclockwise(pictureWidth: out.width)
        default:
            XCTFail("rotation \(spec.rotation) not supported by the test", file: file, line: line)
        }
        let code = spec.bandsCode
        let indices = pictures.map { code.read($0, content: content) }
        if indices != expected.map(Optional.some) {
            let firstBad = zip(indices, expected).enumerated().first { $0.element.0 != $0.element.1 }
            XCTFail("\(what): frames \(Self.summary(indices)), expected \(expected.count) frames \(expected.first ?? -1)…\(expected.last ?? -1)"
                    + (firstBad.map { "; output frame \($0.offset) shows \($0.element.0.map(String.init) ?? "nothing readable"), expected \($0.element.1)" } ?? ""),
                    file: file, line: line)
        }
        // Where the picture lies: the square is where the placement puts it (not for follow, which moves).
        if fit != .follow {
            let misplaced = Self.squareMisplacements(pictures, code: code, content: content, indices: indices)
            XCTAssertTrue(misplaced.isEmpty, "\(what): picture not where \(fit.rawValue) puts it (\(content)): "
                          + "\(misplaced.count) frames, e.g. \(misplaced.prefix(3))", file: file, line: line)
        }
        if let middle = pictures.indices.dropFirst(pictures.count / 2).first {
            let picture = pictures[middle]
            if fit == .pad {
                var bars: [Double] = []
                if content.x >= 6 {
                    bars += [picture.mean(x0: 0, y0: 0, x1: Int(content.x) - 3, y1: picture.height),
                             picture.mean(x0: Int(content.x + content.width) + 3, y0: 0, x1: picture.width, y1: picture.height)]
                }
                if content.y >= 6 {
                    bars += [picture.mean(x0: 0, y0: 0, x1: picture.width, y1: Int(content.y) - 3),
                             picture.mean(x0: 0, y0: Int(content.y + content.height) + 3, x1: picture.width, y1: picture.height)]
                }
                XCTAssertTrue(bars.allSatisfy { $0 < 30 }, "\(what): pad bars are not black: \(bars)", file: file, line: line)
            }
            if fit == .blurPad, content.y >= 12 {
                let blur = Self.blurPadSurround(picture, content: content)
                XCTAssertGreaterThan(blur.surroundMean, 40, "\(what): blur-pad surround is black: \(blur)", file: file, line: line)
                XCTAssertLessThan(blur.surroundEdge, 0.25 * blur.contentEdge, "\(what): blur-pad surround is not blurred: \(blur)",
                                  file: file, line: line)
            }
        }

        // Timing: from 0, one frame every 1/fps, duration exact to the frame.
        let tolerance = 0.001
        let times = out.frameTimes
        if let first = times.first {
            XCTAssertEqual(first, 0, accuracy: tolerance, "\(what): first frame time", file: file, line: line)
            let off = times.enumerated().filter { abs(($0.element - first) - Double($0.offset) / fps) > tolerance }
            XCTAssertTrue(off.isEmpty, "\(what): \(off.count) frames off the 1/\(fps) s grid, e.g. \(off.prefix(3).map { "#\($0.offset) at \($0.element)" })",
                          file: file, line: line)
        }
        let duration = Double(out.frameCount) / fps
        if let declared = out.video.durationSeconds {
            XCTAssertEqual(declared, duration, accuracy: tolerance, "\(what): video stream duration", file: file, line: line)
        }
        // Keyframes: the first frame, then at most gop_seconds apart.
        let keys = out.keyframeTimes
        XCTAssertEqual(keys.first ?? -1, times.first ?? 0, accuracy: tolerance, "\(what): first frame is not a keyframe", file: file, line: line)
        let gaps = zip(keys, keys.dropFirst() + [duration]).map { $1 - $0 }
        XCTAssertLessThanOrEqual(gaps.max() ?? 0, profile.video.gopSeconds + 0.5 / fps, "\(what): keyframe gap (keyframes at \(keys))",
                                 file: file, line: line)
        if url.pathExtension == "mp4" {
            let boxes = try MediaProbe.topLevelBoxes(url)
            XCTAssertTrue((boxes.firstIndex(of: "moov") ?? .max) < (boxes.firstIndex(of: "mdat") ?? -1), "\(what): moov not before mdat: \(boxes)",
                          file: file, line: line)
        }

        // Audio as the profile says, as long as the video.
        let audio = out.probe.audio
        XCTAssertNotNil(audio, "\(what): no audio stream", file: file, line: line)
        if let audio {
            let codec = profile.audio.codec == .opus ? "opus" : "aac"
            XCTAssertEqual(audio.codec_name, codec, "\(what): audio codec", file: file, line: line)
            if profile.audio.codec == .heAAC {
                XCTAssertTrue(audio.profile?.contains("HE") ?? false, "\(what): audio profile \(audio.profile ?? "-")", file: file, line: line)
            }
            XCTAssertEqual(audio.channels, profile.audio.channels, "\(what): audio channels", file: file, line: line)
            XCTAssertEqual(audio.sample_rate.flatMap(Int.init), profile.audio.sampleRate, "\(what): sample rate", file: file, line: line)
            if let audioDuration = audio.durationSeconds {
                XCTAssertEqual(audioDuration, duration, accuracy: 0.025, "\(what): audio duration against the video's", file: file, line: line)
            }
        }

        // Loudness where the profile sets it (ebur128 as the witness); beeps in sync where it doesn't.
        let entry = run.entry(profile.name)
        let fromSeconds = Double(expected.first ?? 0) / Double(spec.fps)
        let toSeconds = fromSeconds + duration
        if let target = profile.audio.loudness {
            let measured = try LoudnessWitness.measure(url)
            XCTAssertEqual(measured.integrated, target, accuracy: 1.0, "\(what): integrated loudness (\(measured))", file: file, line: line)
            XCTAssertLessThanOrEqual(measured.truePeak, profile.audio.truePeak + 0.5, "\(what): true peak over the ceiling (\(measured))",
                                     file: file, line: line)
            let reported = entry?["loudness"]
            XCTAssertNotNil(reported?.object, "\(what): result has no loudness", file: file, line: line)
            if let reported, reported.object != nil {
                let input = try LoudnessWitness.measure(try Fixtures.get(spec).url, from: fromSeconds, to: toSeconds)
                XCTAssertEqual(reported["target"]?.double ?? .nan, target, accuracy: 0.001, "\(what): loudness.target", file: file, line: line)
                XCTAssertEqual(reported["truePeakCeiling"]?.double ?? .nan, profile.audio.truePeak, accuracy: 0.001, "\(what): loudness.truePeakCeiling",
                               file: file, line: line)
                XCTAssertEqual(reported["output"]?.double ?? .nan, measured.integrated, accuracy: 0.5, "\(what): loudness.output vs ebur128",
                               file: file, line: line)
                XCTAssertEqual(reported["outputTruePeak"]?.double ?? .nan, measured.truePeak, accuracy: 1.0, "\(what): loudness.outputTruePeak vs ebur128",
                               file: file, line: line)
                // Measured on the source as it is, or after copying its channels to the output's
                // (a mono source duplicated to stereo at full level measures 3 LU louder).
                let sourceChannels = try MediaProbe.describe(try Fixtures.get(spec).url).audio?.channels ?? 1
                let copied = input.integrated + 10 * log10(Double(max(profile.audio.channels, sourceChannels)) / Double(sourceChannels))
                let reportedInput = reported["input"]?.double ?? .nan
                XCTAssertTrue(abs(reportedInput - input.integrated) <= 0.5 || abs(reportedInput - copied) <= 0.5,
                              "\(what): loudness.input \(reportedInput) vs ebur128 of the source range: \(input)", file: file, line: line)
                XCTAssertNotNil(reported["inputTruePeak"]?.double, "\(what): loudness.inputTruePeak", file: file, line: line)
                XCTAssertFalse(reported["mode"]?.string?.isEmpty ?? true, "\(what): loudness.mode", file: file, line: line)
            }
        } else {
            XCTAssertEqual(entry?["loudness"], .null, "\(what): loudness should be null without a target", file: file, line: line)
            if fps == Double(spec.fps), let heard = try AudioReadback.read(url) {
                // Source beeps at whole seconds; in the output at (second − from).
                let beeps = (Int(fromSeconds.rounded(.up))..<spec.seconds).map { Double($0) - fromSeconds }
                    .filter { $0 >= AVSync.guardAtStart && $0 < duration - BeepTrack.beepSeconds }
                let onsets = heard.onsets.map { $0 - (times.first ?? 0) }
                let off = beeps.filter { beep in !onsets.contains { abs($0 - beep) <= 0.002 } }
                XCTAssertEqual(off, [], "\(what): beeps (output seconds) not heard within 2 ms; onsets \(onsets)", file: file, line: line)
                XCTAssertEqual(onsets.count, beeps.count, "\(what): onsets \(onsets), beeps expected at \(beeps)", file: file, line: line)
            }
        }

        // The JSON result agrees with the file.
        XCTAssertNotNil(entry, "\(what): not in the result:\n\(run.transcript)", file: file, line: line)
        if let entry {
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? -1
            XCTAssertEqual(entry["output"]?.string.map(Self.canonical), Self.canonical(url.path), "\(what): result output", file: file, line: line)
            XCTAssertEqual(entry["container"]?.string, profile.container.rawValue, "\(what): result container", file: file, line: line)
            XCTAssertEqual(entry["width"]?.int, out.width, "\(what): result width", file: file, line: line)
            XCTAssertEqual(entry["height"]?.int, out.height, "\(what): result height", file: file, line: line)
            XCTAssertEqual(entry["frameRate"]?.double ?? .nan, fps, accuracy: 0.01, "\(what): result frameRate", file: file, line: line)
            XCTAssertEqual(entry["frames"]?.int, out.frameCount, "\(what): result frames", file: file, line: line)
            XCTAssertEqual(entry["duration"]?.double ?? .nan, duration, accuracy: tolerance, "\(what): result duration", file: file, line: line)
            XCTAssertEqual(entry["size"]?.int, size, "\(what): result size (bytes)", file: file, line: line)
            let rates = [out.probe.format?.bit_rate.flatMap(Double.init), out.video.bitRate, Double(size) * 8 / duration].compactMap { $0 }
            let bitrate = entry["bitrate"]?.double ?? .nan
            XCTAssertTrue(rates.contains { abs(bitrate - $0) <= 0.05 * $0 }, "\(what): result bitrate \(bitrate), ffprobe says \(rates)",
                          file: file, line: line)
            XCTAssertEqual(entry["videoCodec"]?.string, out.video.codec_name, "\(what): result videoCodec", file: file, line: line)
            XCTAssertEqual(entry["audioCodec"]?.string, audio?.codec_name, "\(what): result audioCodec", file: file, line: line)
            for key in ["videoEncoder", "videoFilter", "audioEncoder", "audioFilter"] {
                XCTAssertNotNil(entry[key]?.string, "\(what): result \(key) is not text", file: file, line: line)
            }
            for key in ["videoOptions", "audioOptions"] {
                XCTAssertNotNil(entry[key]?.object, "\(what): result \(key) is not an object", file: file, line: line)
            }
            XCTAssertNotNil(entry["notes"]?.array, "\(what): result notes is not a list", file: file, line: line)
        }
        return out
    }

    /// The indices as runs, "[45…134] (90 frames)" or "[45…60, nil×2, 63…134] (90 frames)", for messages.
    static func summary(_ indices: [Int?]) -> String {
        var runs: [(first: Int?, length: Int)] = []
        for index in indices {
            if let last = runs.last {
                let continues = last.first.map { first in index == first + last.length } ?? (index == nil)
                if continues { runs[runs.count - 1].length += 1; continue }
            }
            runs.append((index, 1))
        }
        let text = runs.map { run -> String in
            guard let first = run.first else { return run.length > 1 ? "nil×\(run.length)" : "nil" }
            return run.length > 1 ? "\(first)…\(first + run.length - 1)" : "\(first)"
        }
        return "[\(text.prefix(12).joined(separator: ", "))\(text.count > 12 ? ", …" : "")] (\(indices.count) frames)"
    }

    // MARK: helpers

    /// ffmpeg's own blur-pad of a 640x360 frame into a `width`x`height` picture: the frame at 1:1,
    /// centred, over a copy scaled to cover and blurred.
    static func ffmpegBlurPad(width: Int, height: Int) -> String {
        "split[a][b];[b]scale=\(width):\(height):force_original_aspect_ratio=increase,crop=\(width):\(height),"
            + "boxblur=20:2[bg];[bg][a]overlay=(W-w)/2:(H-h)/2"
    }

    /// Pictures whose square is not where the source picture's placement puts it: fully inside the
    /// visible picture but not seen (±3 px), or fully outside but seen. Returns "frame n: why".
    static func squareMisplacements(_ frames: GrayFrames, code: BandsCode, content: ContentRect, indices: [Int?]) -> [String] {
        squareMisplacements((0..<frames.count).map { frames[$0] }, code: code, content: content, indices: indices)
    }

    static func squareMisplacements(_ pictures: [GrayPicture], code: BandsCode, content: ContentRect, indices: [Int?]) -> [String] {
        var problems: [String] = []
        let scale = content.width / Double(code.width)
        // 3 output pixels, or a source pixel and a bit where the picture is scaled up (crop
        // rounding is a fraction of a source pixel, which scaling up makes several output pixels).
        let slack = max(3, scale * 1.25)
        for (n, picture) in pictures.enumerated() {
            guard n < indices.count, let index = indices[n] else { continue }
            let visibleLeft = max(0, content.x), visibleRight = min(Double(picture.width), content.x + content.width)
            let left = content.x + Double(code.squareLeft(index)) * scale
            let right = left + Double(code.squareSide) * scale
            let seen = code.sightSquare(picture, content: content)
            if left >= visibleLeft + 2, right <= visibleRight - 2 {
                if let seen {
                    if abs(Double(seen.left) - left) > slack { problems.append("frame \(n) (index \(index)): square at x=\(seen.left), expected \(Int(left))") }
                } else {
                    problems.append("frame \(n) (index \(index)): square not seen, expected at x=\(Int(left))")
                }
            } else if right <= visibleLeft || left >= visibleRight, let seen {
                problems.append("frame \(n) (index \(index)): square seen at x=\(seen.left), should be out of the picture")
            }
        }
        return problems
    }

    /// Brightness and edge sharpness (`GrayPicture.sharpestEdge`) of a blur-pad's surround (above
    /// and below the picture) against the picture's own band area.
    static func blurPadSurround(_ picture: GrayPicture, content: ContentRect) -> (surroundMean: Double, surroundEdge: Double, contentEdge: Double) {
        let top = Int(content.y) - 2
        let bottom = Int((content.y + content.height).rounded(.up)) + 2
        let surroundMean = (picture.mean(x0: 0, y0: 0, x1: picture.width, y1: top)
                            + picture.mean(x0: 0, y0: bottom, x1: picture.width, y1: picture.height)) / 2
        let surroundEdge = max(picture.sharpestEdge(x0: 0, y0: 0, x1: picture.width, y1: top),
                               picture.sharpestEdge(x0: 0, y0: bottom, x1: picture.width, y1: picture.height))
        let contentEdge = picture.sharpestEdge(x0: Int(content.x.rounded(.up)), y0: Int(content.y.rounded(.up)),
                                               x1: Int(content.x + content.width), y1: Int(content.y + content.height * 2 / 3))
        return (surroundMean, surroundEdge, contentEdge)
    }
}
