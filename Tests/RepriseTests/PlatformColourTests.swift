import Foundation
import XCTest

/// Platform sizes and colour through `reprise transcode`, on small sources made by ffmpeg here:
/// sizes read back with ffprobe; colour tags read back with ffprobe, and a grey and a colour patch
/// decoded by ffmpeg (as a tag-honouring player would) and compared with what was drawn.
final class PlatformColourTests: XCTestCase {
    /// Drawn RGB of the two patches: left half grey, right half a saturated orange-red.
    static let grey: [Double] = [128, 128, 128]
    static let colour: [Double] = [192, 48, 32]

    // MARK: fixtures and witnesses

    /// Left half grey, right half colour, `seconds` long, converted to YUV with `matrix`
    /// (scale's names: bt601, bt709) and tagged; H.264, near-lossless.
    static func patches(_ name: String, width: Int, height: Int, matrix: String, tags: [String],
                        fps: Int = 30, seconds: Double = 1) throws -> URL {
        let url = ScratchSpace.makeFolder("colour-fixture").appendingPathComponent("\(name).mp4")
        let half = "s=\(width / 2)x\(height):r=\(fps):d=\(seconds)"
        let graph = "color=c=0x808080:\(half),format=rgb24[g];color=c=0xC03020:\(half),format=rgb24[c];"
            + "[g][c]hstack,scale=out_color_matrix=\(matrix):out_range=tv,format=yuv420p"
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", graph,
                                          "-c:v", "libx264", "-preset", "ultrafast", "-qp", "4"] + tags + [url.path])
        return url
    }

    /// The same patches as HDR BT.2020 10-bit HEVC (`transfer`: arib-std-b67 for HLG, smpte2084
    /// for PQ): BT.709 SDR values taken to linear light with SDR white at HDR reference white
    /// (203 cd/m², BT.2408), then to the HDR transfer.
    static func hdrPatches(width: Int, height: Int, transfer: String = "arib-std-b67") throws -> URL {
        let url = ScratchSpace.makeFolder("colour-fixture").appendingPathComponent("\(transfer).mp4")
        let half = "s=\(width / 2)x\(height):r=30:d=1"
        let graph = "color=c=0x808080:\(half),format=rgb24[g];color=c=0xC03020:\(half),format=rgb24[c];"
            + "[g][c]hstack,scale=out_color_matrix=bt709:out_range=tv,format=yuv444p,"
            + "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,zscale=t=linear:npl=203,format=gbrpf32le,"
            + "zscale=p=2020:t=\(transfer):m=2020_ncl:r=limited:npl=203,format=yuv420p10le"
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", graph,
                                          "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:lossless=1",
                                          "-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc",
                                          "-color_range", "tv", url.path])
        return url
    }

    struct VideoTags: Decodable {
        var width: Int?
        var height: Int?
        var pix_fmt: String?
        var profile: String?
        var color_range: String?
        var color_space: String?
        var color_transfer: String?
        var color_primaries: String?
        var tags: String { "\(color_primaries ?? "-")/\(color_transfer ?? "-")/\(color_space ?? "-") \(color_range ?? "-") \(pix_fmt ?? "-")" }
    }

    static func videoTags(_ url: URL) throws -> VideoTags {
        struct Report: Decodable { var streams: [VideoTags] }
        let data = try Subprocess.checked("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                      "stream=width,height,pix_fmt,profile,color_range,color_space,color_transfer,color_primaries",
                                                      "-of", "json", url.path])
        guard let first = try JSONDecoder().decode(Report.self, from: data).streams.first else {
            throw SubprocessError(description: "\(url.path): no video stream")
        }
        return first
    }

    /// Mean R, G, B of a rectangle (fractions of the picture) of the first frame, decoded with the
    /// file's own matrix tag (scale's names).
    static func rgbMeans(_ url: URL, x: Double, width: Double, tags: VideoTags) throws -> [Double] {
        let matrix = ["bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt601", "bt2020nc": "bt2020"][tags.color_space ?? ""] ?? "bt601"
        let crop = "crop=iw*\(width):ih*0.4:iw*\(x):ih*0.3"
        let raw = [UInt8](try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-i", url.path, "-frames:v", "1",
                                                            "-vf", "\(crop),scale=in_color_matrix=\(matrix):in_range=\(tags.color_range == "pc" ? "pc" : "tv"),format=rgb24",
                                                            "-f", "rawvideo", "-"]))
        let n = raw.count / 3
        guard n > 0 else { throw SubprocessError(description: "\(url.path): nothing decoded") }
        return (0..<3).map { c in Double(stride(from: c, to: raw.count, by: 3).reduce(0) { $0 + Int(raw[$1]) }) / Double(n) }
    }

    /// Mean Y, U, V of the same kind of rectangle, on an 8-bit scale whatever the depth.
    static func yuvMeans(_ url: URL, x: Double, width: Double) throws -> [Double] {
        let crop = "crop=iw*\(width):ih*0.4:iw*\(x):ih*0.3"
        let raw = [UInt8](try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-i", url.path, "-frames:v", "1",
                                                            "-vf", crop, "-pix_fmt", "yuv444p16le", "-f", "rawvideo", "-"]))
        let plane = raw.count / 6
        guard plane > 0 else { throw SubprocessError(description: "\(url.path): nothing decoded") }
        return (0..<3).map { p in
            var sum = 0
            for i in 0..<plane { let o = (p * plane + i) * 2; sum += Int(raw[o]) | Int(raw[o + 1]) << 8 }
            return (Double(sum) / Double(plane) / 256 * 10).rounded() / 10
        }
    }

    func assertClose(_ got: [Double], _ wanted: [Double], within tolerance: Double, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let off = zip(got, wanted).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertEqual(got.count, 3, what, file: file, line: line)
        XCTAssertLessThanOrEqual(off, tolerance, "\(what): \(got) against \(wanted)", file: file, line: line)
    }

    /// Grey and colour patches of `url` against the drawn ones; prints the figures.
    func assertPatches(_ url: URL, tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tags = try Self.videoTags(url)
        let grey = try Self.rgbMeans(url, x: 0.1, width: 0.3, tags: tags)
        let colour = try Self.rgbMeans(url, x: 0.6, width: 0.3, tags: tags)
        print("\(what): \(tags.tags) grey RGB \(grey) YUV \(try Self.yuvMeans(url, x: 0.1, width: 0.3)), "
              + "colour RGB \(colour) YUV \(try Self.yuvMeans(url, x: 0.6, width: 0.3))")
        assertClose(grey, Self.grey, within: tolerance, "\(what): grey patch", file: file, line: line)
        assertClose(colour, Self.colour, within: tolerance, "\(what): colour patch", file: file, line: line)
    }

    func profiles(_ files: [String: String]) throws -> URL { try ProfileFolder.make(files) }

    func profile(_ name: String, codec: String = "h264", width: Int, height: Int, fit: String = "pad", size: String = "exact",
                 extra: String = "") -> String {
        """
        name: \(name)
        video:
          codec: \(codec)
          width: \(width)
          height: \(height)
          fit: \(fit)
          size: \(size)
          quality: 12
        \(extra)  encoder_options:
            preset: ultrafast
        """
    }

    func transcode(_ input: URL, _ names: [String], dir: URL?, label: String) throws -> (run: TranscodeRun, folder: URL) {
        let folder = ScratchSpace.makeFolder(label)
        let run = try TranscodeRun.run(input, profiles: names, output: folder, profileDirs: dir.map { [$0] } ?? [])
        XCTAssertTrue(run.succeeded, run.transcript)
        return (run, folder)
    }

    func output(_ folder: URL, _ input: URL, _ profile: String) -> URL {
        folder.appendingPathComponent("\(input.deletingPathExtension().lastPathComponent).\(profile).mp4")
    }

    // MARK: sizes

    /// vertical-short (crop) and exact-size pad, blur-pad and follow reach 1080x1920 from a 320x180
    /// landscape and a 180x320 portrait source; the note says it scaled up; long-form keeps the
    /// no-upscale rule.
    func testExactSizeIsDeliveredFromTinyLandscapeAndPortraitSources() throws {
        let dir = try profiles([
            "exact-pad": profile("exact-pad", width: 1080, height: 1920, fit: "pad"),
            "exact-blur": profile("exact-blur", width: 1080, height: 1920, fit: "blur-pad"),
            "exact-follow": profile("exact-follow", width: 1080, height: 1920, fit: "follow"),
        ])
        let names = ["vertical-short", "exact-pad", "exact-blur", "exact-follow", "long-form"]
        for (w, h, longForm) in [(320, 180, [320, 180]), (180, 320, [568, 320])] {
            // 1.5 s at 10 fps: 15 frames, so encoding 1080x1920 stays cheap.
            let source = try Self.patches("src-\(w)x\(h)", width: w, height: h, matrix: "bt709",
                                          tags: ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"],
                                          fps: 10, seconds: 1.5)
            let (run, folder) = try transcode(source, names, dir: dir, label: "exact-\(w)x\(h)")
            guard run.succeeded else { continue }
            for name in names {
                let tags = try Self.videoTags(output(folder, source, name))
                let wanted = name == "long-form" ? longForm : [1080, 1920]
                XCTAssertEqual([tags.width ?? 0, tags.height ?? 0], wanted, "\(name) of \(w)x\(h)")
                print("size: \(name) of \(w)x\(h) → \(tags.width ?? 0)x\(tags.height ?? 0)")
                let notes = run.entry(name)?["notes"]?.array?.compactMap(\.string) ?? []
                let filter = run.entry(name)?["videoFilter"]?.string ?? ""
                if name == "long-form" {
                    XCTAssertFalse(notes.contains { $0.hasPrefix("scaled up") }, "\(name): \(notes)")
                } else {
                    XCTAssertTrue(notes.contains { $0.hasPrefix("scaled up") && $0.contains("lanczos") }, "\(name) of \(w)x\(h): \(notes)")
                    XCTAssertTrue(filter.contains("flags=lanczos"), "\(name): \(filter)")
                }
            }
        }
    }

    // MARK: colour

    /// A BT.601 SD source made HD: matrix converted to BT.709, primaries and transfer kept, the
    /// patches as drawn; kept SD it stays BT.601.
    func testBT601SDSourceConvertsItsMatrixForHDAndKeepsItForSD() throws {
        let source = try Self.patches("sd601", width: 320, height: 180, matrix: "bt601",
                                      tags: ["-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
                                             "-color_range", "tv"])
        try assertPatches(source, tolerance: 4, "BT.601 source")
        let dir = try profiles(["to-hd": profile("to-hd", width: 1280, height: 720),
                                "keep-sd": profile("keep-sd", width: 320, height: 180, size: "at-most")])
        let (run, folder) = try transcode(source, ["to-hd", "keep-sd"], dir: dir, label: "sd601")
        guard run.succeeded else { return }
        let hd = output(folder, source, "to-hd"), sd = output(folder, source, "keep-sd")
        XCTAssertEqual(try Self.videoTags(hd).tags, "smpte170m/smpte170m/bt709 tv yuv420p")
        XCTAssertEqual(try Self.videoTags(sd).tags, "smpte170m/smpte170m/smpte170m tv yuv420p")
        XCTAssertEqual(run.entry("to-hd")?["colour"]?["conversion"]?.string, "matrix")
        try assertPatches(hd, tolerance: 4, "BT.601 SD → HD")
        try assertPatches(sd, tolerance: 4, "BT.601 SD → SD")
        // Had the values been kept under a BT.709 tag, the colour patch would be far off.
        let wrong = try Self.rgbMeans(source, x: 0.6, width: 0.3, tags: VideoTags(color_space: "bt709"))
        XCTAssertGreaterThan(zip(wrong, Self.colour).map { abs($0 - $1) }.max() ?? 0, 8, "the witness can't tell the matrices apart: \(wrong)")
    }

    /// A BT.709 HD source keeps BT.709 at HD and when scaled down to SD.
    func testBT709HDSourceKeepsItsColourAtEverySize() throws {
        let source = try Self.patches("hd709", width: 1280, height: 720, matrix: "bt709",
                                      tags: ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"])
        let dir = try profiles(["same-hd": profile("same-hd", width: 1280, height: 720, size: "at-most"),
                                "down-sd": profile("down-sd", width: 640, height: 360, size: "at-most")])
        let (run, folder) = try transcode(source, ["same-hd", "down-sd"], dir: dir, label: "hd709")
        guard run.succeeded else { return }
        try assertPatches(source, tolerance: 4, "BT.709 source")
        for name in ["same-hd", "down-sd"] {
            let url = output(folder, source, name)
            XCTAssertEqual(try Self.videoTags(url).tags, "bt709/bt709/bt709 tv yuv420p", name)
            XCTAssertEqual(run.entry(name)?["colour"]?["conversion"]?.string, "none", name)
            try assertPatches(url, tolerance: 4, "BT.709 HD → \(name)")
        }
    }

    /// A full-range BT.709 source (yuvj420p, as phones write it): limited range out, tagged so,
    /// the patches as drawn.
    func testFullRangeSourceBecomesLimitedRange() throws {
        let url = ScratchSpace.makeFolder("colour-fixture").appendingPathComponent("full.mp4")
        let graph = "color=c=0x808080:s=160x180:r=30:d=1,format=rgb24[g];color=c=0xC03020:s=160x180:r=30:d=1,format=rgb24[c];"
            + "[g][c]hstack,scale=out_color_matrix=bt709:out_range=pc,format=yuvj420p"
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", graph,
                                          "-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-colorspace", "bt709",
                                          "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "pc", url.path])
        XCTAssertEqual(try Self.videoTags(url).tags, "bt709/bt709/bt709 pc yuvj420p")
        try assertPatches(url, tolerance: 4, "full-range source")
        let dir = try profiles(["limited": profile("limited", width: 320, height: 180, size: "at-most")])
        let (run, folder) = try transcode(url, ["limited"], dir: dir, label: "full-range")
        guard run.succeeded else { return }
        let out = output(folder, url, "limited")
        XCTAssertEqual(try Self.videoTags(out).tags, "bt709/bt709/bt709 tv yuv420p")
        XCTAssertEqual(run.entry("limited")?["colour"]?["conversion"]?.string, "range")
        try assertPatches(out, tolerance: 4, "full → limited range")
    }

    /// An HLG BT.2020 10-bit source: tone-mapped to SDR BT.709 8-bit for an SDR profile (the
    /// patches near what was drawn in SDR), kept HLG 10-bit HEVC by an `hdr: keep` profile.
    func testHLGSourceIsToneMappedForSDRAndKeptByATenBitHDRProfile() throws {
        let source = try Self.hdrPatches(width: 320, height: 180)
        XCTAssertEqual(try Self.videoTags(source).tags, "bt2020/arib-std-b67/bt2020nc tv yuv420p10le")
        let dir = try profiles(["sdr": profile("sdr", width: 640, height: 360),
                                "hdr10bit": profile("hdr10bit", codec: "hevc", width: 320, height: 180, size: "at-most",
                                                    extra: "  bit_depth: 10\n  hdr: keep\n")])
        let (run, folder) = try transcode(source, ["sdr", "hdr10bit"], dir: dir, label: "hlg")
        guard run.succeeded else { return }
        let sdr = output(folder, source, "sdr"), hdr = output(folder, source, "hdr10bit")
        XCTAssertEqual(try Self.videoTags(sdr).tags, "bt709/bt709/bt709 tv yuv420p")
        XCTAssertEqual(run.entry("sdr")?["colour"]?["conversion"]?.string, "tonemap")
        try assertPatches(sdr, tolerance: 10, "HLG → SDR")
        let kept = try Self.videoTags(hdr)
        XCTAssertEqual(kept.tags, "bt2020/arib-std-b67/bt2020nc tv yuv420p10le")
        XCTAssertEqual(kept.profile, "Main 10")
        for x in [0.1, 0.6] {
            let before = try Self.yuvMeans(source, x: x, width: 0.3), after = try Self.yuvMeans(hdr, x: x, width: 0.3)
            print("HLG kept: patch at \(x): YUV \(before) → \(after)")
            assertClose(after, before, within: 2, "HLG kept, patch at \(x)")
        }
    }

    /// A PQ BT.2020 10-bit source through an SDR profile: tone-mapped to BT.709 8-bit, the patches
    /// near what was drawn in SDR.
    func testPQSourceIsToneMappedForSDR() throws {
        let source = try Self.hdrPatches(width: 320, height: 180, transfer: "smpte2084")
        XCTAssertEqual(try Self.videoTags(source).tags, "bt2020/smpte2084/bt2020nc tv yuv420p10le")
        let dir = try profiles(["sdr": profile("sdr", width: 640, height: 360)])
        let (run, folder) = try transcode(source, ["sdr"], dir: dir, label: "pq")
        guard run.succeeded else { return }
        let sdr = output(folder, source, "sdr")
        XCTAssertEqual(try Self.videoTags(sdr).tags, "bt709/bt709/bt709 tv yuv420p")
        XCTAssertTrue(run.entry("sdr")?["notes"]?.array?.contains { $0.string?.hasPrefix("PQ bt2020 10-bit source tone-mapped") ?? false } ?? false,
                      run.transcript)
        try assertPatches(sdr, tolerance: 10, "PQ → SDR")
    }

    /// `reprise probe` shows the colour: tags, bit depth, HDR kind.
    func testProbeShowsTheColour() throws {
        let hlg = try Self.hdrPatches(width: 64, height: 36)
        let json = try Reprise.run(["probe", hlg.path, "--json"])
        XCTAssertEqual(json.status, 0, json.transcript)
        let stream = JSONValue.parse(json.output.stdoutText)?["streams"]?.array?.first
        XCTAssertEqual(stream?["colorPrimaries"]?.string, "bt2020")
        XCTAssertEqual(stream?["colorTransfer"]?.string, "arib-std-b67")
        XCTAssertEqual(stream?["colorMatrix"]?.string, "bt2020nc")
        XCTAssertEqual(stream?["colorRange"]?.string, "tv")
        XCTAssertEqual(stream?["bitDepth"]?.int, 10)
        XCTAssertEqual(stream?["hdr"]?.string, "HLG")
        let text = try Reprise.run(["probe", hlg.path])
        XCTAssertTrue(text.output.stdoutText.contains("colour: primaries bt2020, transfer arib-std-b67, matrix bt2020nc, range tv, 10-bit, HDR HLG"),
                      text.transcript)
    }

    /// An HE-AAC profile or ladder without libfdk_aac: one clear error line, no output.
    func testHEAACIsRefusedWithAClearMessageWhenNoEncoderMakesIt() throws {
        let encoders = try Subprocess.run("ffmpeg", ["-hide_banner", "-v", "error", "-encoders"]).stdoutText
        XCTAssertTrue(encoders.contains(" aac "), "ffmpeg -encoders lists nothing usable:\n\(encoders.prefix(500))")
        try XCTSkipIf(encoders.contains(" libfdk_aac "), "this FFmpeg has libfdk_aac: HE-AAC is made, not refused")
        let source = ScratchSpace.makeFolder("he-aac").appendingPathComponent("src.mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=1",
                                          "-f", "lavfi", "-i", "sine=f=440:d=1", "-c:v", "libx264", "-preset", "ultrafast",
                                          "-c:a", "aac", "-shortest", source.path])
        let dir = try profiles([
            "he": profile("he", width: 160, height: 90, size: "at-most") + "\naudio:\n  codec: he-aac\n  bitrate: 48k\n",
            "ladder-he": """
                name: ladder-he
                rungs:
                  - { width: 160, height: 90, bitrate: 200k }
                audio:
                  codec: he-aac
                  bitrate: 48k
                """,
        ])
        let folder = ScratchSpace.makeFolder("he-aac-out")
        let out = folder.appendingPathComponent("he.mp4")
        let run = try TranscodeRun.run(source, profiles: ["he"], output: out, profileDirs: [dir])
        XCTAssertNotEqual(run.status, 0, run.transcript)
        XCTAssertEqual(run.run.stderrLines.count, 1, run.transcript)
        XCTAssertTrue(run.run.stderrLines.first?.contains("he-aac needs libfdk_aac") ?? false, run.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "an output was left")

        let hls = folder.appendingPathComponent("hls")
        let ladder = try Reprise.run(["ladder", source.path, "-o", hls.path, "--ladder", "he", "--profile-dir", dir.path])
        XCTAssertNotEqual(ladder.status, 0, ladder.transcript)
        // The error is the last line (notes on how each rung is made come before it), and names the
        // ladder's folder, not its hidden work folder.
        XCTAssertTrue(ladder.stderrLines.last?.contains("he-aac needs libfdk_aac") ?? false, ladder.transcript)
        XCTAssertTrue(ladder.stderrLines.last?.hasPrefix("reprise: error: \(hls.path): ") ?? false, ladder.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: hls.path), "a ladder was left")
    }
}
