import CFFmpeg
import XCTest
@testable import RepriseMedia
@testable import RepriseProfiles
@testable import RepriseTranscode

/// The geometry and the follow window's path, without media: sizes, filter chains, smoothing.
final class RenderPlanTests: XCTestCase {
    func video(_ w: Int, _ h: Int, fit: Profile.Fit, upscale: Bool = false, maxFPS: Double? = 30) -> Profile.Video {
        var v = Profile.Video(width: w, height: h)
        v.fit = fit
        v.upscale = upscale
        v.maxFrameRate = maxFPS
        return v
    }

    func testNoUpscaleShrinksTheTargetShapeUntilTheSourceIsOneToOne() {
        // 640x360 into 1080x1920 by crop: cover scale 5.33 → 1080/5.33 x 1920/5.33 = 202.5x360.
        let crop = RenderPlanner.plan(video: video(1080, 1920, fit: .crop), source: (640, 360), rotation: 0, frameRate: 30)
        XCTAssertEqual([crop.width, crop.height], [202, 360])
        XCTAssertEqual(crop.filter, "crop=202:360,setsar=1,format=yuv420p")
        XCTAssertEqual(crop.notes.count, 1)
        // 640x480 into 1920x1080 by pad: fit scale 2.25 → 853.3x480 → 854x480, picture 640x480 in the middle.
        let pad = RenderPlanner.plan(video: video(1920, 1080, fit: .pad), source: (640, 480), rotation: 0, frameRate: 30)
        XCTAssertEqual([pad.width, pad.height], [854, 480])
        XCTAssertEqual(pad.filter, "setsar=1,pad=854:480:(ow-iw)/2:(oh-ih)/2:black,format=yuv420p")
        // A big source is scaled down to exactly the target.
        let down = RenderPlanner.plan(video: video(1080, 1920, fit: .crop), source: (3840, 2160), rotation: 0, frameRate: 30)
        XCTAssertEqual([down.width, down.height], [1080, 1920])
        XCTAssertEqual(down.filter, "crop=1215:2160,zscale=w=1080:h=1920:filter=bicubic,setsar=1,format=yuv420p")
        XCTAssertTrue(down.notes.isEmpty)
        // upscale: true fills the target.
        let up = RenderPlanner.plan(video: video(1280, 720, fit: .pad, upscale: true), source: (640, 360), rotation: 0, frameRate: 30)
        XCTAssertEqual([up.width, up.height], [1280, 720])
        XCTAssertTrue(up.filter.hasPrefix("scale=1280:720:flags=lanczos,"), up.filter)
    }

    /// zimg scales 8-bit 4:2:0 down (a fifth of swscale's time here); other formats keep swscale,
    /// which converts RGB without a matrix, dithers 10 to 8 bits and fills a 10-bit alpha plane.
    func testDownscalerFollowsThePixelFormat() {
        let v = video(640, 360, fit: .pad)
        func filter(_ format: AVPixelFormat, _ video: Profile.Video? = nil) -> String {
            RenderPlanner.plan(video: video ?? v, source: (1280, 720), rotation: 0, frameRate: 30,
                               pixelFormat: format.rawValue).filter
        }
        XCTAssertEqual(filter(AV_PIX_FMT_YUV420P), "zscale=w=640:h=360:filter=bicubic,setsar=1,format=yuv420p")
        XCTAssertEqual(filter(AV_PIX_FMT_YUVJ420P), "zscale=w=640:h=360:filter=bicubic,setsar=1,format=yuv420p")
        XCTAssertEqual(filter(AV_PIX_FMT_YUV420P10LE), "scale=640:360,setsar=1,format=yuv420p")
        XCTAssertEqual(filter(AV_PIX_FMT_GBRP), "scale=640:360,setsar=1,format=yuv420p")
        XCTAssertEqual(filter(AV_PIX_FMT_YUV422P), "scale=640:360,setsar=1,format=yuv420p")
        // Blur-pad into a 10-bit overlay: the picture's branch stays with swscale even from 8 bits.
        var tenBit = video(360, 640, fit: .blurPad)
        tenBit.bitDepth = 10
        tenBit.codec = .hevc
        let blur = RenderPlanner.plan(video: tenBit, source: (1280, 720), rotation: 0, frameRate: 30,
                                      colour: ColourProperties(primaries: 1, transfer: 1, matrix: 1, range: 1),
                                      pixelFormat: AV_PIX_FMT_YUV420P.rawValue).filter
        XCTAssertTrue(blur.contains("[rp_fg]scale=360:202,setsar=1[rp_pic]"), blur)
        XCTAssertTrue(blur.contains("format=yuv420p10"), blur)
        let blur8 = RenderPlanner.plan(video: video(360, 640, fit: .blurPad), source: (1280, 720), rotation: 0, frameRate: 30,
                                       pixelFormat: AV_PIX_FMT_YUV420P.rawValue).filter
        XCTAssertTrue(blur8.contains("[rp_fg]zscale=w=360:h=202:filter=bicubic,setsar=1[rp_pic]"), blur8)
    }

    func testRotationTurnsThePictureUprightFirst() {
        XCTAssertEqual(RenderPlanner.uprightFilters(rotation: 90).filters, ["transpose=cclock"])
        XCTAssertEqual(RenderPlanner.uprightFilters(rotation: -90).filters, ["transpose=clock"])
        XCTAssertEqual(RenderPlanner.uprightFilters(rotation: 270).filters, ["transpose=clock"])
        XCTAssertEqual(RenderPlanner.uprightFilters(rotation: 180).filters, ["hflip", "vflip"])
        XCTAssertEqual(RenderPlanner.uprightFilters(rotation: 0).filters, [])
        // Stored 640x360 shown turned: a 360x640 picture, which fills 9:16 without cropping.
        let r = RenderPlanner.plan(video: video(1080, 1920, fit: .crop), source: (640, 360), rotation: 90, frameRate: 30)
        XCTAssertEqual([r.width, r.height], [360, 640])
        XCTAssertEqual(r.filter, "transpose=cclock,setsar=1,format=yuv420p")
    }

    func testFrameRateCapOnlyWhenTheSourceIsFaster() {
        XCTAssertTrue(RenderPlanner.plan(video: video(640, 360, fit: .pad), source: (640, 360), rotation: 0, frameRate: 60).filter.hasPrefix("fps=30,"))
        XCTAssertFalse(RenderPlanner.plan(video: video(640, 360, fit: .pad), source: (640, 360), rotation: 0, frameRate: 29.97).filter.contains("fps"))
        XCTAssertFalse(RenderPlanner.plan(video: video(640, 360, fit: .pad, maxFPS: nil), source: (640, 360), rotation: 0, frameRate: 60).filter.contains("fps"))
    }

    func testBlurPadOverlaysThePictureOnABlurredCover() {
        let r = RenderPlanner.plan(video: video(1080, 1920, fit: .blurPad), source: (640, 360), rotation: 0, frameRate: 30)
        XCTAssertEqual([r.width, r.height], [640, 1138])
        XCTAssertTrue(r.filter.contains("boxblur="), r.filter)
        XCTAssertTrue(r.filter.contains("overlay=(W-w)/2:(H-h)/2"), r.filter)
        XCTAssertTrue(r.filter.contains("zscale=w=640:h=360:filter=bicubic,setsar=1[rp_pic]"), r.filter)
    }

    func testFollowWindowSlidesAlongTheCroppedAxis() {
        let r = RenderPlanner.plan(video: video(360, 640, fit: .follow), source: (640, 360), rotation: 0, frameRate: 30)
        XCTAssertEqual(r.follow, FollowWindow(width: 202, height: 360, axis: .horizontal, travel: 438))
        XCTAssertTrue(r.filter.hasPrefix("crop@follow=w=202:h=360:x=219:y=0"), r.filter)
    }

    /// A saliency profile with one bump at `cell` of 64.
    func bump(at cell: Int) -> [Double] { (0..<64).map { abs($0 - cell) <= 2 ? 100 : 0 } }

    func testFollowPathStartsOnTheTargetMovesSmoothlyAndJumpsAtACut() {
        let window = FollowWindow(width: 200, height: 360, axis: .horizontal, travel: 440)
        var path = FollowPath(window: window, frameRate: 30)
        // First frame: straight to the bump at 10/64 of 640 px (centre ≈ 105 → start 5).
        let first = path.step(saliency: bump(at: 10), sceneCut: false)
        XCTAssertEqual(first, 5, accuracy: 5)
        // The bump moves far right without a cut: the window follows, a bounded step per frame.
        var starts = [first]
        for _ in 0..<60 { starts.append(path.step(saliency: bump(at: 50), sceneCut: false)) }
        let steps = zip(starts, starts.dropFirst()).map { abs($1 - $0) }
        XCTAssertLessThanOrEqual(steps.max() ?? 0, Int(640 * 0.02) + 1, "moved too fast: \(steps)")
        XCTAssertGreaterThan(starts[1], starts[0], "did not start moving")
        XCTAssertEqual(starts.last!, 405, accuracy: 15, "did not arrive")
        // A cut: straight to the new place.
        XCTAssertEqual(path.step(saliency: bump(at: 10), sceneCut: true), first, accuracy: 1)
        // Nothing salient: stays where it is.
        XCTAssertEqual(path.step(saliency: [Double](repeating: 0, count: 64), sceneCut: false), first, accuracy: 1)
        // Small wobbles inside the dead zone don't move it.
        XCTAssertEqual(path.step(saliency: bump(at: 11), sceneCut: false), first, accuracy: 1)
    }

    func testAudioChainTrimsNormalisesAndPadsToTheSample() {
        var a = Profile.Audio()
        a.loudness = -14
        let measured = Loudness(integrated: -18.4, range: 0, truePeak: -8)
        let plan = AudioRender.plan(audio: a, duration: 3, measured: measured, sampleFormat: "fltp")
        XCTAssertEqual(plan.loudnessMode, "linear")
        XCTAssertTrue(plan.filter.hasPrefix("atrim=start=0:end=3.000000,aresample=async=1:first_pts=0,aformat=channel_layouts=stereo,loudnorm=I=-14.0:TP=-1.0"), plan.filter)
        XCTAssertTrue(plan.filter.contains("measured_LRA=0.10"), "loudnorm treats a range of 0 as unmeasured: \(plan.filter)")
        XCTAssertTrue(plan.filter.contains("apad=whole_len=144000,atrim=end_sample=144000"), plan.filter)
        // A gain that would clip the true peak: dynamic, with a note.
        let loud = AudioRender.plan(audio: a, duration: 3, measured: Loudness(integrated: -30, range: 3, truePeak: -2), sampleFormat: "fltp")
        XCTAssertEqual(loud.loudnessMode, "dynamic")
        XCTAssertEqual(loud.notes.count, 1)
        // No target: no loudnorm.
        XCTAssertFalse(AudioRender.plan(audio: Profile.Audio(), duration: 3, measured: nil, sampleFormat: "fltp").filter.contains("loudnorm"))
    }
}
