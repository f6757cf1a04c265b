import Foundation
import XCTest
@testable import RepriseHLS
@testable import RepriseProfiles
@testable import RepriseTranscode

/// A ladder whose top rung is the source itself: GOPs copied, re-encoded only where the keyframe
/// grid needs an IDR the source lacks; the other rungs scaled each from the next larger one.
final class LadderReuseTests: XCTestCase {
    /// 320x180 H.264 High, 30 fps, 8 s, B-frames, IDRs at 0, 1, 2, 3, 5, 6, 7 s: the 2-s grid's
    /// IDR at 4 s is missing, so the GOP 3–5 s is re-encoded (3–4 s as the tail of the range
    /// [2, 4), 4–5 s as the head of [4, 6)); every other frame is the source's own.
    static func makeSource(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("source.mp4")
        let out = try Subprocess.run("ffmpeg", [
            "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=8",
            "-f", "lavfi", "-i", "sine=f=440:r=48000:d=8", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
            "-b:v", "300k", "-maxrate", "400k", "-bufsize", "600k",
            "-x264-params", "keyint=300:min-keyint=300:scenecut=0", "-forced-idr", "1", "-force_key_frames", "0,1,2,3,5,6,7",
            "-c:a", "aac", "-shortest", url.path])
        guard out.status == 0 else { throw SubprocessError(description: "ffmpeg: \(out.stderrText)") }
        return url
    }

    static func writeLadder(in folder: URL, topMaxBitrate: String = "600k") throws -> URL {
        let dir = folder.appendingPathComponent("ladders")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        name: ladder-reusetest
        segment_seconds: 2
        gop_seconds: 2
        video: { codec: h264, profile: high, max_fps: 30, encoder_options: { preset: veryfast } }
        rungs:
          - { width: 320, height: 180, bitrate: 400k, max_bitrate: \(topMaxBitrate) }
          - { width: 160, height: 90, bitrate: 120k, max_bitrate: 180k }
          - { width: 96, height: 54, bitrate: 60k, max_bitrate: 90k }
        audio: { codec: aac, bitrate: 64k }
        """.write(to: dir.appendingPathComponent("ladder-reusetest.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    /// MD5 of each decoded picture, in presentation order.
    static func frameMD5s(_ url: URL) throws -> [String] {
        let out = try Subprocess.run("ffmpeg", ["-nostdin", "-v", "error", "-i", url.path, "-map", "0:v:0", "-f", "framemd5", "-"])
        guard out.status == 0 else { throw SubprocessError(description: "ffmpeg framemd5 \(url.lastPathComponent): \(out.stderrText)") }
        return out.stdoutText.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("#") }
            .compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func testFittingSourceBecomesTheTopRungFrameForFrame() throws {
        let folder = ScratchSpace.makeFolder("ladder-reuse")
        let source = try Self.makeSource(in: folder)
        let ladders = try Self.writeLadder(in: folder)
        let out = folder.appendingPathComponent("replay")
        let run = try Reprise.run(["ladder", source.path, "-o", out.path, "--ladder", "reusetest", "--profile-dir", ladders.path,
                                   "--quality-report", "--json"], timeout: 300)
        XCTAssertEqual(run.status, 0, run.transcript)
        guard run.status == 0, let rungs = run.summary()?["rungs"]?.array else { return XCTFail("no result: \(run.transcript)") }
        XCTAssertEqual(rungs.compactMap { $0["name"]?.string }, ["180p", "90p", "54p"])

        // The top rung: copied, with exactly the GOP 3–5 s (frames 90..<150) re-encoded.
        let top = rungs[0]
        XCTAssertEqual(top["video"]?.string, "copied", "\(top)")
        XCTAssertEqual(top["reencodedFrames"]?.double, 60)
        XCTAssertEqual(top["copiedPackets"]?.double, 180)
        XCTAssertEqual(rungs[1]["scaledFrom"]?.string, "source")
        XCTAssertEqual(rungs[2]["scaledFrom"]?.string, "90p", "each rung is scaled from the next larger one")
        let sourceMD5 = try Self.frameMD5s(source)
        let topMD5 = try Self.frameMD5s(out.appendingPathComponent("180p/index.m3u8"))
        XCTAssertEqual(sourceMD5.count, 240)
        XCTAssertEqual(topMD5.count, 240, "the top rung's frame count")
        let differing = zip(sourceMD5, topMD5).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        XCTAssertFalse(differing.isEmpty, "the re-encoded GOP can't be bit-identical (lossy)")
        XCTAssertTrue(differing.allSatisfy { (90..<150).contains($0) }, "frames outside the re-encoded GOP differ: \(differing)")

        // Every rung: every frame, at its size; IDRs on the grid in all; every segment opens with an IDR.
        let sizes = [[320, 180], [160, 90], [96, 54]]
        for (rung, size) in zip(rungs, sizes) {
            let name = rung["name"]?.string ?? "?"
            let playlist = out.appendingPathComponent("\(name)/index.m3u8")
            let probe = try FFprobe.describe(playlist)
            let video = probe.streams?.first { $0.codec_type == "video" }
            XCTAssertEqual([video?.width ?? 0, video?.height ?? 0], size, name)
            XCTAssertEqual(try Self.frameMD5s(playlist).count, 240, "\(name): frames")
            let packets = try FFprobe.packets(playlist)
            let start = packets.compactMap(\.ptsSeconds).min() ?? 0
            let keys = Set(packets.filter(\.isKeyframe).compactMap(\.ptsSeconds).map { (($0 - start) * 1000).rounded() / 1000 })
            XCTAssertTrue(keys.isSuperset(of: [0, 2, 4, 6]), "\(name): keyframes \(keys.sorted())")
            if name != "180p" { XCTAssertEqual(keys, [0, 2, 4, 6], "\(name): keyframes") }
            let text = try String(contentsOf: playlist, encoding: .utf8)
            guard let media = MediaPlaylist.parse(text) else { XCTFail("\(name): playlist"); continue }
            XCTAssertEqual(media.segments.count, 4, "\(name): segments")
            for s in media.segments {
                var bytes = try Data(contentsOf: playlist.deletingLastPathComponent().appendingPathComponent(media.mapURI ?? ""))
                bytes += try Data(contentsOf: playlist.deletingLastPathComponent().appendingPathComponent(s.uri))
                let alone = ScratchSpace.makeFolder("segment").appendingPathComponent("s.mp4")
                try bytes.write(to: alone)
                let first = try FFprobe.packets(alone, stream: "v:0", data: true).first
                let units = NALUnits.split(FFprobe.bytes(fromHexDump: first?.data ?? ""), .lengthPrefixed)
                XCTAssertTrue(units.contains { NALUnits.Codec.h264.type(of: $0) == 5 }, "\(name)/\(s.uri) does not start with an IDR")
            }
            // Quality against the source, measured through libavfilter.
            let psnr = rung["quality"]?["psnr"]?.double ?? 0, ssim = rung["quality"]?["ssim"]?.double ?? 0
            XCTAssertEqual(rung["quality"]?["frames"]?.double, 240, name)
            XCTAssertGreaterThan(psnr, 28, name)
            XCTAssertGreaterThan(ssim, 0.9, name)
            XCTAssertLessThanOrEqual(ssim, 1, name)
        }
        // The copied rung is named by the source's parameter sets (High, its level).
        let master = try String(contentsOf: out.appendingPathComponent("master.m3u8"), encoding: .utf8)
        XCTAssertTrue(master.contains("CODECS=\"avc1.6400"), master)
    }

    /// A 60-fps source is over the rungs' 30-fps cap: every rung is encoded, the lower ones
    /// scaled from the top one's 30-fps frames, and the quality report pairs each rung picture
    /// with the source picture at its time (120 rung pictures, not the source's 240).
    func testSourceOverTheFrameRateCapIsEncodedAndMeasuredByTime() throws {
        let folder = ScratchSpace.makeFolder("ladder-reuse-60")
        let source = folder.appendingPathComponent("source60.mp4")
        let made = try Subprocess.run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=60:d=4",
                                                 "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-b:v", "300k", source.path])
        XCTAssertEqual(made.status, 0, made.stderrText)
        let ladders = try Self.writeLadder(in: folder)
        let out = folder.appendingPathComponent("replay")
        let run = try Reprise.run(["ladder", source.path, "-o", out.path, "--ladder", "reusetest", "--profile-dir", ladders.path,
                                   "--quality-report", "--json"], timeout: 300)
        XCTAssertEqual(run.status, 0, run.transcript)
        guard run.status == 0, let rungs = run.summary()?["rungs"]?.array, rungs.count == 3 else { return XCTFail(run.transcript) }
        XCTAssertEqual(rungs[0]["video"]?.string, "encoded")
        XCTAssertTrue(rungs[0]["reuse"]?.string?.contains("fps") ?? false, "\(rungs[0])")
        XCTAssertEqual(rungs.compactMap { $0["scaledFrom"]?.string }, ["source", "180p", "90p"])
        for rung in rungs {
            XCTAssertEqual(rung["frames"]?.double, 120, "\(rung)")
            XCTAssertEqual(rung["quality"]?["frames"]?.double, 120, "\(rung)")
            // Paired by time, a rung is close to the source; paired by position it would not be
            // (every second source picture would meet the wrong rung picture).
            XCTAssertGreaterThan(rung["quality"]?["psnr"]?.double ?? 0, 28, "\(rung)")
        }
    }

    /// What keeps a source from being the top rung, one reason at a time.
    func testRungFitNamesWhatDoesNotFit() {
        var rung = Profile.Video(width: 1280, height: 720)
        rung.profile = "high"; rung.maxFrameRate = 30; rung.bitrate = 3_000_000; rung.maxBitrate = 4_500_000
        let fitting = RungFit.Source(codec: "h264", profile: 100, level: 31, pixelFormat: "yuv420p", width: 1280, height: 720,
                                     rotation: 0, squarePixels: true, frameRate: 30, bitrate: 2_500_000,
                                     keyframeInterval: 2)
        XCTAssertTrue(RungFit.check(fitting, rung: rung, width: 1280, height: 720, format: .fmp4, gopSeconds: 2).fits)
        var constrained = fitting
        constrained.profile = 66 | 512  // constrained baseline, as FFmpeg reports it
        XCTAssertTrue(RungFit.check(constrained, rung: rung, width: 1280, height: 720, format: .fmp4, gopSeconds: 2).fits)
        func reason(_ change: (inout RungFit.Source) -> Void, rung r: Profile.Video? = nil, format: Ladder.SegmentFormat = .fmp4) -> String {
            var s = fitting
            change(&s)
            let fit = RungFit.check(s, rung: r ?? rung, width: 1280, height: 720, format: format, gopSeconds: 2)
            XCTAssertFalse(fit.fits, fit.reason)
            return fit.reason
        }
        XCTAssertTrue(reason { $0.codec = "hevc" }.contains("hevc"))
        var hevcRung = rung
        hevcRung.codec = .hevc
        XCTAssertTrue(reason({ $0.codec = "hevc"; $0.profile = 1 }, rung: hevcRung).contains("H.264"))
        XCTAssertTrue(reason { $0.bitrate = 5_000_000 }.contains("5000 kb/s"))
        XCTAssertTrue(reason { $0.width = 1920; $0.height = 1080 }.contains("1920x1080"))
        XCTAssertTrue(reason { $0.frameRate = 60 }.contains("fps"))
        XCTAssertTrue(reason { $0.pixelFormat = "yuv420p10le" }.contains("yuv420p10le"))
        XCTAssertTrue(reason { $0.rotation = 90 }.contains("rotated"))
        XCTAssertTrue(reason { $0.keyframeInterval = 10 }.contains("10 s apart"))
        XCTAssertTrue(reason { $0.keyframesOnGrid = 0.4 }.contains("40 %"))
        XCTAssertTrue(reason({ _ in }, format: .ts).contains("fMP4"))
        var main = rung
        main.profile = "main"
        XCTAssertTrue(reason({ _ in }, rung: main).contains("profile"))
        var capped = rung
        capped.encoderOptions["level"] = "3.0"
        XCTAssertTrue(reason({ _ in }, rung: capped).contains("level"))
    }
}
