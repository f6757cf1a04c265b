import XCTest
@testable import RepriseHLS
@testable import RepriseMedia
@testable import RepriseProfiles
@testable import RepriseTranscode

/// Platform sizes, colour plans, the size and colour profile fields, and audio codec strings,
/// without media.
final class ColourPlanTests: XCTestCase {
    typealias C = ColourProperties

    func exact(_ w: Int, _ h: Int, fit: Profile.Fit) -> Profile.Video {
        var v = Profile.Video(width: w, height: h)
        v.fit = fit
        v.size = .exact
        v.maxFrameRate = 30
        return v
    }

    // MARK: sizes

    /// `size: exact` reaches 1080x1920 from 720p and 1080p landscape, a 720x1280 phone stream and
    /// tiny sources, with every fit; scaling up says so and uses lanczos.
    func testExactSizeIsReachedFromEverySourceWithEveryFit() {
        let sources = [(1280, 720), (1920, 1080), (720, 1280), (320, 180), (180, 320), (3840, 2160)]
        for fit in Profile.Fit.allCases {
            for s in sources {
                let r = RenderPlanner.plan(video: exact(1080, 1920, fit: fit), source: s, rotation: 0, frameRate: 30)
                XCTAssertEqual([r.width, r.height], [1080, 1920], "\(fit) from \(s)")
                let enlarges = fit == .crop || fit == .follow
                    ? max(1080.0 / Double(s.0), 1920.0 / Double(s.1)) > 1 : min(1080.0 / Double(s.0), 1920.0 / Double(s.1)) > 1
                XCTAssertEqual(r.notes.contains { $0.hasPrefix("scaled up") && $0.contains("lanczos") }, enlarges, "\(fit) from \(s): \(r.notes)")
                XCTAssertEqual(r.filter.contains("flags=lanczos"), enlarges, "\(fit) from \(s): \(r.filter)")
            }
        }
        // A phone stream stored 1280x720 and shown turned is 720x1280 upright: scaled, never cropped.
        let turned = RenderPlanner.plan(video: exact(1080, 1920, fit: .crop), source: (1280, 720), rotation: 90, frameRate: 30)
        XCTAssertEqual(turned.filter, "transpose=cclock,scale=1080:1920:flags=lanczos,setsar=1,format=yuv420p")
        // The default (at-most) keeps the no-upscale rule: long-form of 720p stays 1280x720.
        var long = Profile.Video(width: 1920, height: 1080)
        long.fit = .pad
        let kept = RenderPlanner.plan(video: long, source: (1280, 720), rotation: 0, frameRate: 30)
        XCTAssertEqual([kept.width, kept.height], [1280, 720])
        XCTAssertFalse(kept.filter.contains("scale="), kept.filter)
    }

    // MARK: colour plans

    let sd601 = C(primaries: C.smpte170m, transfer: C.smpte170m, matrix: C.smpte170m, range: C.rangeLimited)
    let hd709 = C(primaries: C.bt709, transfer: C.bt709, matrix: C.bt709, range: C.rangeLimited)
    let hlg = C(primaries: C.bt2020, transfer: C.hlg, matrix: C.bt2020Matrix, range: C.rangeLimited, bitDepth: 10)
    let pq = C(primaries: C.bt2020, transfer: C.pq, matrix: C.bt2020Matrix, range: C.rangeLimited, bitDepth: 10)

    func plan(_ c: ColourProperties, _ from: (Int, Int), _ to: (Int, Int), bitDepth: Int = 8, hdr: Profile.HDR = .tonemap) -> ColourPlan {
        var v = Profile.Video(width: to.0, height: to.1)
        v.bitDepth = bitDepth
        v.hdr = hdr
        return ColourPlan.plan(source: c, sourceSize: from, outputSize: to, video: v)
    }

    func testSDRKeepsItsColourAndConvertsTheMatrixOnlyWhenSDBecomesHD() {
        let up = plan(sd601, (640, 480), (1280, 720))
        XCTAssertEqual(up.conversion, "matrix")
        XCTAssertEqual([up.output.primaries, up.output.transfer, up.output.matrix, up.output.range],
                       [C.smpte170m, C.smpte170m, C.bt709, C.rangeLimited], "primaries and transfer kept, matrix BT.709")
        XCTAssertTrue(up.filters.contains("colorspace=space=bt709:trc=smpte170m:primaries=smpte170m:range=tv"), "\(up.filters)")
        XCTAssertEqual(up.filters.last, "format=yuv420p")

        for (source, from, to) in [(sd601, (640, 480), (320, 240)), (hd709, (1920, 1080), (640, 360)), (hd709, (1280, 720), (1080, 1920))] {
            let p = plan(source, from, to)
            XCTAssertEqual(p.conversion, "none", "\(from) → \(to)")
            XCTAssertEqual(p.output, source, "\(from) → \(to): kept as it is")
            XCTAssertEqual(p.filters, [])
        }
        // Untagged: read as players read it (SD: BT.601, HD: BT.709), written tagged, with a note.
        let untagged = C(primaries: C.unspecified, transfer: C.unspecified, matrix: C.unspecified, range: C.rangeUnspecified)
        XCTAssertEqual(plan(untagged, (640, 360), (640, 360)).output, sd601)
        XCTAssertEqual(plan(untagged, (1280, 720), (640, 360)).output, hd709)
        XCTAssertTrue(plan(untagged, (1280, 720), (640, 360)).notes.contains { $0.contains("not fully tagged") })
        // Full range: brought to limited range (and the result says so).
        let full = plan(C(primaries: C.bt709, transfer: C.bt709, matrix: C.bt709, range: C.rangeFull), (1280, 720), (1280, 720))
        XCTAssertEqual(full.conversion, "range")
        XCTAssertEqual(full.output.range, C.rangeLimited)
        XCTAssertTrue(full.filters.contains("scale=in_range=pc:out_range=tv"), "\(full.filters)")
    }

    func testHDRIsToneMappedToSDRBT709OrKeptAtTenBits() {
        for source in [hlg, pq] {
            let sdr = plan(source, (1920, 1080), (1080, 1920))
            XCTAssertEqual(sdr.conversion, "tonemap")
            XCTAssertEqual([sdr.output.primaries, sdr.output.transfer, sdr.output.matrix, sdr.output.range],
                           [C.bt709, C.bt709, C.bt709, C.rangeLimited])
            XCTAssertEqual(sdr.pixelFormat, "yuv420p")
            XCTAssertEqual(sdr.filters.first, "setparams=color_primaries=bt2020:color_trc=\(source.transferName):colorspace=bt2020nc:range=tv")
            XCTAssertTrue(sdr.filters.contains { $0.hasPrefix("tonemap=tonemap=mobius") }, "\(sdr.filters)")
            XCTAssertTrue(sdr.filters.contains("zscale=t=linear:npl=203"), "\(sdr.filters)")
            XCTAssertTrue(sdr.notes.contains { $0.contains("tone-mapped") }, "\(sdr.notes)")

            let kept = plan(source, (1920, 1080), (1920, 1080), bitDepth: 10, hdr: .keep)
            XCTAssertEqual(kept.conversion, "none")
            XCTAssertEqual(kept.output, source)
            XCTAssertEqual(kept.pixelFormat, "yuv420p10le")
            // 10-bit SDR output of an HDR source: still tone-mapped when the profile says tonemap.
            XCTAssertEqual(plan(source, (1920, 1080), (1920, 1080), bitDepth: 10).pixelFormat, "yuv420p10le")
            XCTAssertEqual(plan(source, (1920, 1080), (1920, 1080), bitDepth: 10).conversion, "tonemap")
        }
        // A 10-bit SDR source into an 8-bit profile: stated.
        var tenBit = hd709
        tenBit.bitDepth = 10
        XCTAssertTrue(plan(tenBit, (1920, 1080), (1920, 1080)).notes.contains { $0.contains("10-bit source is written as 8-bit") })
    }

    /// The colour step sits where the picture is smaller: before scaling up, after scaling down.
    func testColourConversionRunsAtTheSmallerEnd() {
        var v = exact(1280, 720, fit: .pad)
        let up = RenderPlanner.plan(video: v, source: (320, 180), rotation: 0, frameRate: 30, colour: sd601)
        XCTAssertTrue(up.filter.hasPrefix("setparams="), up.filter)
        XCTAssertTrue(up.filter.range(of: "colorspace=")!.lowerBound < up.filter.range(of: "scale=1280:720")!.lowerBound, up.filter)
        v.width = 640; v.height = 360
        let down = RenderPlanner.plan(video: v, source: (3840, 2160), rotation: 0, frameRate: 30, colour: hlg)
        XCTAssertTrue(down.filter.hasPrefix("zscale=w=640:h=360:filter=bicubic,"), down.filter)
        XCTAssertTrue(down.filter.hasSuffix("format=yuv420p"), down.filter)
        XCTAssertEqual(down.colour?.conversion, "tonemap")
    }

    // MARK: profile fields

    func load(_ yaml: String) throws -> Profile {
        let folder = ScratchSpace.makeFolder("colour-profile")
        let url = folder.appendingPathComponent("p.yaml")
        try Data(yaml.utf8).write(to: url)
        return try ProfileLoader.load(path: url.path)
    }

    func testSizeBitDepthAndHDRFieldsAreReadAndValidated() throws {
        let base = "video:\n  width: 1080\n  height: 1920\n  quality: 23\n"
        XCTAssertEqual(try load(base).video.size, .atMost)
        XCTAssertEqual(try load(base + "  size: exact\n").video.size, .exact)
        let hdr = try load("video:\n  codec: hevc\n  width: 1920\n  height: 1080\n  quality: 23\n  bit_depth: 10\n  hdr: keep\n  profile: main10\n")
        XCTAssertEqual([hdr.video.bitDepth], [10])
        XCTAssertEqual(hdr.video.hdr, .keep)
        let refusals: [(String, String)] = [
            (base + "  size: huge\n", "video.size: 'huge' is not one of: at-most, exact"),
            (base + "  size: exact\n  upscale: false\n", "video.upscale: is false, but size: exact"),
            (base + "  bit_depth: 10\n", "video.bit_depth: 10-bit output needs codec hevc or av1"),
            (base + "  bit_depth: 9\n", "video.bit_depth: 9 is not one of: 8, 10"),
            ("video:\n  codec: hevc\n  width: 16\n  height: 16\n  quality: 23\n  hdr: keep\n", "video.hdr: keep needs bit_depth: 10"),
            ("video:\n  codec: hevc\n  profile: main\n  width: 16\n  height: 16\n  quality: 23\n  bit_depth: 10\n", "video.profile: 'main' is an 8-bit profile"),
            (base + "  hdr: drop\n", "video.hdr: 'drop' is not one of: tonemap, keep"),
        ]
        for (yaml, message) in refusals {
            let e = expectError(ProfileError.self) { try load(yaml) }
            XCTAssertTrue(e.map { "\($0)".contains(message) } ?? false, "\(e.map { "\($0)" } ?? "-") should say \(message)")
        }
    }

    func testShippedVerticalShortIsExactAndLongFormIsNot() throws {
        let library = try ProfileLibrary(folders: [ProfileFolder.shipped.path])
        XCTAssertEqual(library.profile(named: "vertical-short")?.video.size, .exact)
        XCTAssertEqual(library.profile(named: "long-form")?.video.size, .atMost)
        XCTAssertEqual(library.profile(named: "long-form-720p")?.video.size, .atMost)
    }

    // MARK: audio codec strings

    func testAudioCodecStringsFollowTheEncodersProfile() throws {
        XCTAssertEqual(CodecString.audio(codec: "aac"), "mp4a.40.2")
        XCTAssertEqual(CodecString.audio(codec: "aac", aacProfile: 1), "mp4a.40.2")   // FF_PROFILE_AAC_LOW
        XCTAssertEqual(CodecString.audio(codec: "aac", aacProfile: 4), "mp4a.40.5")   // FF_PROFILE_AAC_HE
        XCTAssertEqual(CodecString.audio(codec: "aac", aacProfile: 28), "mp4a.40.29") // FF_PROFILE_AAC_HE_V2
        XCTAssertEqual(CodecString.audio(codec: "opus"), "Opus")
        XCTAssertEqual(CodecString.audio(codec: "mp3"), "mp4a.40.34")
        XCTAssertEqual(CodecString.audio(codec: "ac3"), "ac-3")
        XCTAssertEqual(CodecString.audio(codec: "eac3"), "ec-3")
        XCTAssertEqual(CodecString.audio(codec: "flac"), "fLaC")
        XCTAssertNil(CodecString.audio(codec: "pcm_s16le"))
        // What FFmpeg's own encoder says it made, once open: LC.
        let encoder = try Encoder(audio: AudioEncoderSettings(sampleRate: 48000, channels: 2, bitRate: 128_000))
        XCTAssertEqual(CodecString.audio(codec: "aac", aacProfile: encoder.context.pointee.profile), "mp4a.40.2")
    }

    /// HE-AAC is made by libfdk_aac or refused: never AAC-LC under an HE label.
    func testHEAACIsRefusedWithoutAnEncoderThatMakesIt() throws {
        for codec in [Profile.AudioCodec.heAAC, .heAACv2] {
            var a = Profile.Audio()
            a.codec = codec
            if EncoderChoice.isAvailable("libfdk_aac") {
                let choice = try EncoderChoice.audio(a)
                XCTAssertEqual(choice.encoder, "libfdk_aac")
                XCTAssertEqual(choice.options["profile"], codec == .heAAC ? "aac_he" : "aac_he_v2")
            } else {
                let e = expectError(TranscodeError.self) { try EncoderChoice.audio(a) }
                XCTAssertTrue(e?.description.contains("needs libfdk_aac") ?? false, e?.description ?? "-")
                XCTAssertTrue(e?.description.contains(codec.rawValue) ?? false, e?.description ?? "-")
            }
        }
        var lc = Profile.Audio()
        lc.codec = .aac
        XCTAssertEqual(try EncoderChoice.audio(lc).encoder, "aac")
    }
}
