import Foundation
import XCTest
@testable import RepriseProfiles
@testable import RepriseTranscode

/// `reuse: auto`: a source whose video already fits a profile is copied (a smart cut: whole GOPs
/// untouched, edges re-encoded) and only its audio is re-encoded, with loudness; a source that
/// does not fit, or a profile that says `reuse: never`, is re-encoded, and the result says why.
final class SourceReuseTests: XCTestCase {
    /// 640x360 H.264 High, 30 fps, 6 s, a keyframe every 60 frames (2 s), about 600 kb/s; a 440 Hz
    /// tone at 44.1 kHz. It fits long-form-720p (which does not scale a smaller source up).
    static func source(width: Int = 640, height: Int = 360, seconds: Int = 6, bitrate: String = "600k") throws -> URL {
        let url = ScratchSpace.makeFolder("reuse-source").appendingPathComponent("source-\(width)x\(height).mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y",
                                          "-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=30",
                                          "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                          "-t", "\(seconds)", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
                                          "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                                          "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate,
                                          "-c:a", "aac", "-b:a", "96k", url.path])
        return url
    }

    /// long-form-720p, changed in one line.
    static func variant(_ name: String, _ change: (String) -> String) throws -> String {
        let text = try String(contentsOf: ProfileFolder.shipped.appendingPathComponent("long-form-720p.yaml"), encoding: .utf8)
        return change(text.replacingOccurrences(of: "name: long-form-720p", with: "name: \(name)"))
    }

    /// Per-frame MD5 of the decoded pictures (`ffmpeg -f framemd5`), of `frames` (source order) or all.
    static func md5s(_ url: URL, frames: ClosedRange<Int>? = nil) throws -> [String] {
        var args = ["-v", "error", "-i", url.path, "-map", "0:v:0"]
        if let frames { args += ["-vf", "select='between(n,\(frames.lowerBound),\(frames.upperBound))'"] }
        args += ["-vsync", "0", "-f", "framemd5", "-"]
        let text = String(decoding: try Subprocess.checked("ffmpeg", args), as: UTF8.self)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map(String.init) }
    }

    /// A fitting source through the shipped long-form-720p and a variant with a loudness target:
    /// both copy the video. Frames 33…155 (1.1–5.2 s) are exactly the range's; the GOP at 60…119
    /// lies wholly inside it and decodes to the source's pixels, bit for bit; the audio is 48 kHz
    /// AAC as long as the video and on the loudness target; chapters are written.
    func testFittingSourceIsCopiedFrameExactWithItsAudioNormalised() throws {
        let source = try Self.source()
        let profiles = try ProfileFolder.make(["loud-720p": try Self.variant("loud-720p") {
            $0.replacingOccurrences(of: "  bitrate: 128k", with: "  bitrate: 128k\n  loudness: -16")
        }])
        let folder = ScratchSpace.makeFolder("reuse-copied")
        let marks = folder.appendingPathComponent("chapters.json")
        try Data(#"[{"start": 0, "title": "Opening"}, {"start": 3, "title": "商品 A"}]"#.utf8).write(to: marks)
        let out = folder.appendingPathComponent("out", isDirectory: true)
        let run = try TranscodeRun.run(source, profiles: ["long-form-720p", "loud-720p"], output: out,
                                       extra: ["--from", "1.1", "--to", "5.2", "--chapters", marks.path], profileDirs: [profiles])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertEqual(run.outputs.count, 2, run.transcript)

        let want = try Self.md5s(source, frames: 33...155)
        XCTAssertEqual(want.count, 123)
        for name in ["long-form-720p", "loud-720p"] {
            let entry = try XCTUnwrap(run.entry(name), run.transcript)
            XCTAssertEqual(entry["video"]?["path"]?.string, "copied", "\(name): \(run.transcript)")
            let reason = entry["video"]?["reason"]?.string ?? ""
            XCTAssertTrue(reason.hasPrefix("source h264 high 640x360 30fps ") && reason.hasSuffix(" fits \(name)"), reason)
            XCTAssertEqual(entry["videoEncoder"]?.string, "copy")
            XCTAssertEqual(entry["frames"]?.double, 123)

            let url = URL(fileURLWithPath: try XCTUnwrap(entry["output"]?.string))
            let errors = try Subprocess.run("ffmpeg", ["-v", "error", "-i", url.path, "-f", "null", "-"])
            XCTAssertEqual(errors.stderrText, "", "\(name) decodes with errors")
            let got = try Self.md5s(url)
            XCTAssertEqual(got.count, 123, "\(name): exactly the range's frames")
            // Output frame i is source frame 33 + i; source frames 60…119 (a whole GOP) are copied.
            let copied = Array(27...86)
            XCTAssertEqual(copied.filter { $0 < got.count && got[$0] == want[$0] }, copied, "\(name): copied frames are the source's, bit for bit")

            let probe = try MediaProbe.describe(url)
            let audio = try XCTUnwrap(probe.audio, "\(name) has no audio")
            XCTAssertEqual(audio.codec_name, "aac")
            XCTAssertEqual(audio.sample_rate, "48000")
            XCTAssertEqual(audio.durationSeconds ?? 0, 4.1, accuracy: 0.03, "\(name): audio as long as the video")

            let chapters = JSONValue.parse(try Subprocess.checked("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", url.path]))
            XCTAssertEqual(chapters?["chapters"]?.array?.compactMap { $0["tags"]?["title"]?.string }, ["Opening", "商品 A"], name)
        }
        let loud = try XCTUnwrap(run.entry("loud-720p"))
        let measured = try LoudnessWitness.measure(URL(fileURLWithPath: try XCTUnwrap(loud["output"]?.string)))
        XCTAssertEqual(measured.integrated, -16, accuracy: 1.0, "loudness on target (\(measured))")
        XCTAssertEqual(loud["loudness"]?["output"]?.double ?? 0, -16, accuracy: 1.0, "reported loudness")
        XCTAssertLessThan(measured.truePeak, -0.5, "true peak under the −1 dBTP ceiling (\(measured))")
    }

    /// One run, four profiles: long-form-720p copies, and so does a variant with `duration.max: 1`
    /// (its first second only); a variant capped at 300k and one that says `reuse: never` share the
    /// decode and re-encode, each saying why. Every output holds the range's frames.
    func testProfilesThatDoNotFitShareTheDecodeAndSayWhy() throws {
        let source = try Self.source()
        let profiles = try ProfileFolder.make([
            "capped-720p": try Self.variant("capped-720p") { $0.replacingOccurrences(of: "max_bitrate: 5M", with: "max_bitrate: 300k") },
            "never-720p": try Self.variant("never-720p") { $0.replacingOccurrences(of: "reuse: auto", with: "reuse: never") },
            "clipped-720p": try Self.variant("clipped-720p") { $0 + "duration:\n  max: 1\n" },
        ])
        let out = ScratchSpace.makeFolder("reuse-mixed")
        let run = try TranscodeRun.run(source, profiles: ["long-form-720p", "capped-720p", "never-720p", "clipped-720p"], output: out,
                                       extra: ["--from", "1.1", "--to", "3"], profileDirs: [profiles])
        XCTAssertEqual(run.status, 0, run.transcript)
        let paths = ["long-form-720p", "capped-720p", "never-720p", "clipped-720p"].map { run.entry($0)?["video"]?["path"]?.string }
        XCTAssertEqual(paths, ["copied", "re-encoded", "re-encoded", "copied"], run.transcript)
        let capped = run.entry("capped-720p")?["video"]?["reason"]?.string ?? ""
        XCTAssertTrue(capped.hasPrefix("source bitrate ") && capped.hasSuffix(" over max_bitrate 300k"), capped)
        XCTAssertEqual(run.entry("never-720p")?["video"]?["reason"]?.string, "never-720p does not reuse the source (reuse: never)")
        XCTAssertEqual(run.entry("capped-720p")?["videoEncoder"]?.string, "libx264")
        XCTAssertEqual(run.entry("never-720p")?["videoEncoder"]?.string, "libx264")
        for name in ["long-form-720p", "capped-720p", "never-720p"] {
            XCTAssertEqual(run.entry(name)?["frames"]?.double, 57, "\(name): frames 33…89")
        }
        let clipped = URL(fileURLWithPath: try XCTUnwrap(run.entry("clipped-720p")?["output"]?.string))
        XCTAssertEqual(try Self.md5s(clipped).count, 30, "clipped-720p: its first second, frames 33…62")
        XCTAssertEqual(run.entry("clipped-720p")?["frames"]?.double, 30)
        XCTAssertEqual(run.entry("clipped-720p")?["duration"]?.double ?? 0, 1, accuracy: 0.001)
    }

    /// A 4:3 source is pillarboxed by long-form-720p: another size, so it is re-encoded.
    func testSourceOfAnotherSizeIsReencoded() throws {
        let source = try Self.source(width: 320, height: 240, seconds: 2)
        let run = try TranscodeRun.run(source, profiles: ["long-form-720p"], output: ScratchSpace.makeFolder("reuse-size"),
                                       extra: ["--to", "1"])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertEqual(run.entry("long-form-720p")?["video"]?["path"]?.string, "re-encoded")
        XCTAssertEqual(run.entry("long-form-720p")?["video"]?["reason"]?.string, "source size 320x240, long-form-720p delivers 426x240")
        // On the terminal too.
        let plain = try Reprise.run(["transcode", source.path, "--profile", "long-form-720p", "-o", ScratchSpace.makeFolder("reuse-size-plain").path,
                                     "--to", "1"])
        XCTAssertEqual(plain.status, 0, plain.transcript)
        XCTAssertTrue(plain.output.stdoutText.contains("    video re-encoded: source size 320x240, long-form-720p delivers 426x240"), plain.transcript)
    }

    // MARK: the fit check alone (no media)

    static let fitting = SourceFit.Facts(codec: "h264", profile: 100, profileName: "High", level: 31, width: 1280, height: 720,
                                         pixelFormat: "yuv420p", frameRate: 30, bitRate: 2_100_000, keyframeInterval: 2, rotation: 0)

    func testFitCheckNamesTheFirstThingThatDoesNotFit() throws {
        let profile = try XCTUnwrap(ProfileLibrary(folders: [ProfileFolder.shipped.path]).profile(named: "long-form-720p"))
        XCTAssertEqual(SourceFit.decide(profile: profile, facts: Self.fitting),
                       VideoPath(path: .copied, reason: "source h264 high 1280x720 30fps 2.1 Mb/s fits long-form-720p"))
        var main = Self.fitting
        main.profile = 77; main.profileName = "Main"
        XCTAssertNil(SourceFit.misfit(profile: profile, facts: main), "Main is within High")

        let cases: [(String, (inout SourceFit.Facts) -> Void)] = [
            ("source bitrate 7.9 Mb/s over max_bitrate 5M", { $0.bitRate = 7_900_000 }),
            ("source codec hevc, long-form-720p writes h264", { $0.codec = "hevc"; $0.profile = 1 }),
            ("source profile High 4:4:4 Predictive is not within long-form-720p's high", { $0.profile = 244; $0.profileName = "High 4:4:4 Predictive" }),
            ("source frame rate 60 fps over max_fps 30", { $0.frameRate = 60 }),
            ("source keyframes up to 5.00 s apart, over 2 × gop_seconds (4 s)", { $0.keyframeInterval = 5 }),
            ("source is shown rotated 90°: long-form-720p turns it upright", { $0.rotation = 90 }),
            ("source pixel format yuv420p10le, long-form-720p writes 8-bit 4:2:0 (yuv420p)", { $0.pixelFormat = "yuv420p10le" }),
            ("source size 1920x1080, long-form-720p delivers 1280x720", { $0.width = 1920; $0.height = 1080 }),
        ]
        for (reason, change) in cases {
            var facts = Self.fitting
            change(&facts)
            XCTAssertEqual(SourceFit.decide(profile: profile, facts: facts), VideoPath(path: .reencoded, reason: reason))
        }
        var leveled = profile
        leveled.video.encoderOptions["level"] = "3.0"
        XCTAssertEqual(SourceFit.misfit(profile: leveled, facts: Self.fitting), "source level 3.1 over long-form-720p's level 3.0")
    }

    func testReuseIsReadAtTheTopOrUnderVideo() throws {
        let library = try ProfileLibrary(folders: [ProfileFolder.shipped.path])
        XCTAssertEqual(library.profile(named: "long-form")?.reuse, .auto)
        XCTAssertEqual(library.profile(named: "long-form-720p")?.reuse, .auto)
        XCTAssertEqual(library.profile(named: "vertical-short")?.reuse, .never, "absent: never")

        let base = "video:\n  width: 640\n  height: 360\n  quality: 22\n"
        let folder = try ProfileFolder.make(["top": "reuse: auto\n" + base, "under": base + "  reuse: auto\n",
                                             "both": "reuse: auto\n" + base + "  reuse: never\n", "odd": "reuse: sometimes\n" + base])
        XCTAssertEqual(try ProfileLoader.load(path: folder.appendingPathComponent("top.yaml").path).reuse, .auto)
        XCTAssertEqual(try ProfileLoader.load(path: folder.appendingPathComponent("under.yaml").path).reuse, .auto)
        for (name, says) in [("both", "given twice"), ("odd", "'sometimes' is not one of: auto, never")] {
            XCTAssertThrowsError(try ProfileLoader.load(path: folder.appendingPathComponent("\(name).yaml").path)) { error in
                XCTAssertTrue("\(error)".contains(says), "\(error)")
            }
        }
    }
}
