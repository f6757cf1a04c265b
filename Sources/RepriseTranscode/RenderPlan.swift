import CFFmpeg
import RepriseMedia
import RepriseProfiles

/// How the source picture becomes one output's picture: the output size after the no-upscale
/// rule, and the libavfilter chain (rotation, frame-rate cap, crop / pad / blur-pad / follow,
/// pixel format) that produces it. Pure arithmetic on sizes, so it is tested without media.
public struct VideoRender: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// The filter chain for a one-input, one-output graph.
    public var filter: String
    /// For `follow`: the crop window (in upright source pixels) the tracker moves.
    public var follow: FollowWindow?
    /// Frames per second the chain outputs when it caps the rate (nil: the source's rate).
    public var frameRateCap: Double?
    /// Why the output is not the profile's size, etc.
    public var notes: [String]
    /// The output's colour and its conversion (nil when planned without the source's colour).
    public var colour: ColourPlan? = nil
    /// libavfilter pixel format of the frames the chain hands the encoder.
    public var pixelFormat: String { colour?.pixelFormat ?? "yuv420p" }
}

/// A crop window of `width`×`height` source pixels that slides along one axis.
public struct FollowWindow: Equatable, Sendable {
    public enum Axis: Sendable { case horizontal, vertical }
    public var width: Int
    public var height: Int
    public var axis: Axis
    /// Where the window may start along its axis: 0…travel.
    public var travel: Int
    /// The name the tracker sends its commands to.
    public static let filterName = "crop@follow"
}

public enum RenderPlanner {
    /// Quarter-turns a player applies for a stream's display rotation (degrees counterclockwise,
    /// as `av_display_rotation_get` reports): the filters that make the picture upright.
    public static func uprightFilters(rotation: Double) -> (filters: [String], swapsAxes: Bool) {
        let quarter = ((Int((rotation / 90).rounded()) % 4) + 4) % 4
        switch quarter {
        case 1: return (["transpose=cclock"], true)
        case 2: return (["hflip", "vflip"], false)
        case 3: return (["transpose=clock"], true)
        default: return ([], false)
        }
    }

    /// Rounds to the nearest even number, at least 2 (4:2:0 needs even sizes).
    static func even(_ x: Double) -> Int { max(2, Int((x / 2).rounded()) * 2) }

    /// The output size: the profile's, or — when filling it would scale the source up and the
    /// profile does not allow that — the same shape shrunk until the source is shown at 1:1.
    /// `size: exact` (or `upscale: true`) always gives the profile's size.
    public static func outputSize(source: (width: Int, height: Int), video: Profile.Video) -> (width: Int, height: Int, shrunk: Bool) {
        let rx = Double(video.width) / Double(source.width), ry = Double(video.height) / Double(source.height)
        let covers = video.fit == .crop || video.fit == .follow
        let scale = covers ? max(rx, ry) : min(rx, ry)
        guard scale > 1, !video.upscale, video.size != .exact else { return (video.width, video.height, false) }
        return (even(Double(video.width) / scale), even(Double(video.height) / scale), true)
    }

    /// - Parameters:
    ///   - source: coded size of the decoded frames.
    ///   - rotation: the stream's display rotation.
    ///   - frameRate: the source's frame rate (0 when unknown).
    ///   - colour: the source's colour as decoded; nil plans the geometry alone (8-bit, no conversion).
    ///   - pixelFormat: the decoded frames' AVPixelFormat (which scaler scales them down).
    public static func plan(video: Profile.Video, source: (width: Int, height: Int), rotation: Double,
                            frameRate: Double, colour: ColourProperties? = nil,
                            pixelFormat: Int32 = AV_PIX_FMT_YUV420P.rawValue) -> VideoRender {
        var filters: [String] = []
        var notes: [String] = []
        let (turn, swaps) = uprightFilters(rotation: rotation)
        filters += turn
        let sw = swaps ? source.height : source.width
        let sh = swaps ? source.width : source.height

        var cap: Double? = nil
        if let max = video.maxFrameRate, frameRate > max + 0.01 {
            cap = max
            filters.append("fps=\(format(max))")
        }

        let size = outputSize(source: (sw, sh), video: video)
        let (ow, oh) = (size.width, size.height)
        if size.shrunk {
            notes.append("\(ow)x\(oh) instead of \(video.width)x\(video.height): the \(sw)x\(sh) source is not scaled up (upscale: false)")
        }
        // How much bigger the picture gets (crop and follow cover the output, pad and blur-pad fit in it).
        let enlarge = video.fit == .crop || video.fit == .follow
            ? max(Double(ow) / Double(sw), Double(oh) / Double(sh)) : min(Double(ow) / Double(sw), Double(oh) / Double(sh))
        if enlarge > 1.001 {
            notes.append(String(format: "scaled up %.2fx from the %dx%d source to fill %dx%d (lanczos)", enlarge, sw, sh, ow, oh))
        }
        let colourPlan = colour.map { ColourPlan.plan(source: $0, sourceSize: (sw, sh), outputSize: (ow, oh), video: video) }
        let zimg = zimgScales(pixelFormat)
        func scale(_ w: Int, _ h: Int, from source: (Int, Int)) -> String { Self.scale(w, h, from: source, zimg: zimg) }
        // Colour conversion runs where the picture is smaller: before scaling up, after scaling down.
        let colourFirst = sw * sh <= ow * oh
        if colourFirst, let c = colourPlan { filters += c.filters }
        var follow: FollowWindow? = nil
        switch video.fit {
        case .crop, .follow:
            let s = max(Double(ow) / Double(sw), Double(oh) / Double(sh))
            let cw = min(sw, Int((Double(ow) / s).rounded())), ch = min(sh, Int((Double(oh) / s).rounded()))
            if video.fit == .follow && (cw < sw || ch < sh) {
                let axis: FollowWindow.Axis = cw < sw ? .horizontal : .vertical
                let window = FollowWindow(width: cw, height: ch, axis: axis, travel: axis == .horizontal ? sw - cw : sh - ch)
                follow = window
                let x = axis == .horizontal ? window.travel / 2 : 0, y = axis == .vertical ? window.travel / 2 : 0
                filters.append("\(FollowWindow.filterName)=w=\(cw):h=\(ch):x=\(x):y=\(y)")
            } else if cw < sw || ch < sh {
                filters.append("crop=\(cw):\(ch)")
            }
            if cw != ow || ch != oh { filters.append(scale(ow, oh, from: (cw, ch))) }
            filters.append("setsar=1")
        case .pad:
            let (fw, fh) = fitted(source: (sw, sh), into: (ow, oh))
            if fw != sw || fh != sh { filters.append(scale(fw, fh, from: (sw, sh))) }
            filters.append("setsar=1")
            if fw != ow || fh != oh { filters.append("pad=\(ow):\(oh):(ow-iw)/2:(oh-ih)/2:black") }
        case .blurPad:
            let (fw, fh) = fitted(source: (sw, sh), into: (ow, oh))
            if fw == ow && fh == oh {
                if fw != sw || fh != sh { filters.append(scale(fw, fh, from: (sw, sh))) }
                filters.append("setsar=1")
            } else {
                filters.append(blurPad(source: (sw, sh), content: (fw, fh), output: (ow, oh),
                                       tenBit: colourPlan?.pixelFormat == "yuv420p10le", zimg: zimg))
            }
        }
        if !colourFirst, let c = colourPlan { filters += c.filters }
        let pixelFormat = colourPlan?.pixelFormat ?? "yuv420p"
        if filters.last != "format=\(pixelFormat)" { filters.append("format=\(pixelFormat)") }
        notes += colourPlan?.notes ?? []
        return VideoRender(width: ow, height: oh, filter: filters.joined(separator: ","), follow: follow,
                           frameRateCap: cap, notes: notes, colour: colourPlan)
    }

    /// A resize to w x h. Scaling up uses swscale's lanczos (sharper, no ringing worth noting at
    /// these ratios). Scaling down 8-bit 4:2:0 (`zimg`) uses zimg (zscale, bicubic): swscale's
    /// downscaler runs in C here, about 4 ms a 720p frame, and was a quarter of a ladder's CPU;
    /// zimg's takes a fifth of that, and with no conversion asked for keeps the frame's colour as
    /// it is. Other formats stay with swscale: zimg has no path from RGB to YUV without a matrix,
    /// doesn't dither a 10-to-8-bit step by default, and fills a 10-bit alpha plane wrongly.
    static func scale(_ w: Int, _ h: Int, from source: (Int, Int), zimg: Bool) -> String {
        if w > source.0 || h > source.1 { return "scale=\(w):\(h):flags=lanczos" }
        return zimg ? "zscale=w=\(w):h=\(h):filter=bicubic" : "scale=\(w):\(h)"
    }

    /// The decoded formats zimg scales down (see `scale`): 8-bit 4:2:0, as live recordings are.
    static func zimgScales(_ pixelFormat: Int32) -> Bool {
        pixelFormat == AV_PIX_FMT_YUV420P.rawValue || pixelFormat == AV_PIX_FMT_YUVJ420P.rawValue
    }

    /// The source fitted inside `box` (aspect kept), even-sized.
    static func fitted(source: (Int, Int), into box: (Int, Int)) -> (Int, Int) {
        let s = min(Double(box.0) / Double(source.0), Double(box.1) / Double(source.1))
        return (min(box.0, even(Double(source.0) * s)), min(box.1, even(Double(source.1) * s)))
    }

    /// The whole picture, centred, over a blurred copy of itself scaled to cover the output.
    /// The copy is blurred at a quarter of the size (cheap) and scaled back up (smoother still).
    static func blurPad(source: (Int, Int), content: (Int, Int), output: (Int, Int), tenBit: Bool = false,
                        zimg: Bool = true) -> String {
        let bw = even(Double(output.0) / 4), bh = even(Double(output.1) / 4)
        let cover = max(Double(bw) / Double(source.0), Double(bh) / Double(source.1))
        let cw = max(bw, even(Double(source.0) * cover)), chh = max(bh, even(Double(source.1) * cover))
        // boxblur's chroma radius must fit in half the (4:2:0) chroma plane.
        let radius = max(1, min(10, min(bw, bh) / 4 - 1))
        return "split=2[rp_fg][rp_bg];"
            + "[rp_bg]scale=\(cw):\(chh),crop=\(bw):\(bh),boxblur=\(radius):2,scale=\(output.0):\(output.1),setsar=1[rp_blur];"
            // A 10-bit overlay takes yuva420p10 from this branch: swscale fills that alpha right.
            + "[rp_fg]\(scale(content.0, content.1, from: source, zimg: zimg && !tenBit)),setsar=1[rp_pic];"
            + "[rp_blur][rp_pic]overlay=(W-w)/2:(H-h)/2:format=\(tenBit ? "yuv420p10" : "yuv420")"
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(x)
    }
}
