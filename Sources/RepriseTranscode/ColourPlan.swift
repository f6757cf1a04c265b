import RepriseMedia
import RepriseProfiles

/// What one output's colour becomes, and the libavfilter steps that make it so:
/// - SDR stays SDR: primaries, transfer and range-corrected values are kept and written. The
///   matrix is kept too, except when an SD picture (BT.601) becomes HD, where it is converted to
///   BT.709 — what HLS and every platform expect for HD, and what a player that ignores tags
///   assumes. BT.709 is kept at every size. Full range becomes limited (tv).
/// - HDR (PQ, HLG) becomes SDR BT.709 for `hdr: tonemap` profiles: zscale to linear light with
///   BT.2408 reference white (203 cd/m²) at 1.0, BT.2020 → BT.709 primaries, Möbius tone curve
///   (linear up to 0.3, so mid-tones and skin keep their SDR levels), back to BT.709. `hdr: keep`
///   (10-bit profiles) leaves it as it is.
/// Pure: tested without media.
public struct ColourPlan: Equatable, Sendable {
    /// Written into the output's bitstream and container.
    public var output: ColourProperties
    /// libavfilter pixel format of the encoded frames.
    public var pixelFormat: String
    /// The conversion, empty when none is needed; it ends in `format=pixelFormat` when not empty.
    public var filters: [String]
    /// "none", "range", "matrix", "tonemap" (joined with "+" when several).
    public var conversion: String
    public var notes: [String]

    /// SD or HD by the conventions players use for untagged video: HD from 1280 wide or 720 high
    /// (portrait pictures counted turned).
    public static func isHD(_ width: Int, _ height: Int) -> Bool { max(width, height) >= 1280 || min(width, height) >= 720 }

    /// Unspecified properties filled in as players assume them for a picture of this size.
    public static func resolved(_ c: ColourProperties, width: Int, height: Int) -> ColourProperties {
        var r = c
        let hd = isHD(width, height)
        let u = ColourProperties.unspecified
        if r.matrix == u {
            switch r.primaries {
            case _ where r.isHDR, ColourProperties.bt2020: r.matrix = ColourProperties.bt2020Matrix
            case ColourProperties.bt470bg: r.matrix = ColourProperties.bt470bg
            case ColourProperties.smpte170m: r.matrix = ColourProperties.smpte170m
            case ColourProperties.bt709: r.matrix = ColourProperties.bt709
            default: r.matrix = hd ? ColourProperties.bt709 : ColourProperties.smpte170m
            }
        }
        if r.primaries == u {
            switch r.matrix {
            case ColourProperties.bt2020Matrix: r.primaries = ColourProperties.bt2020
            case ColourProperties.bt470bg: r.primaries = ColourProperties.bt470bg
            case ColourProperties.smpte170m: r.primaries = ColourProperties.smpte170m
            default: r.primaries = ColourProperties.bt709
            }
        }
        if r.transfer == u {
            switch r.primaries {
            case ColourProperties.bt2020: r.transfer = ColourProperties.bt2020Transfer10
            case ColourProperties.smpte170m, ColourProperties.bt470bg: r.transfer = ColourProperties.smpte170m
            default: r.transfer = ColourProperties.bt709
            }
        }
        if r.range == ColourProperties.rangeUnspecified { r.range = ColourProperties.rangeLimited }
        return r
    }

    /// - Parameters:
    ///   - source: as the decoder reports it (unspecified values allowed).
    ///   - sourceSize: upright picture size of the source; `outputSize`: of the output.
    public static func plan(source raw: ColourProperties, sourceSize: (width: Int, height: Int),
                            outputSize: (width: Int, height: Int), video: Profile.Video) -> ColourPlan {
        let source = resolved(raw, width: sourceSize.width, height: sourceSize.height)
        let pixelFormat = video.bitDepth == 10 ? "yuv420p10le" : "yuv420p"
        var notes: [String] = []
        let assumed = raw.primaries != source.primaries || raw.transfer != source.transfer || raw.matrix != source.matrix
        let sourceTags = "setparams=color_primaries=\(source.primariesName):color_trc=\(source.transferName)"
            + ":colorspace=\(source.matrixName):range=\(source.rangeName)"
        if assumed {
            notes.append("the source's colour is not fully tagged: read as \(source.primariesName)/\(source.transferName)/\(source.matrixName) (\(isHD(sourceSize.width, sourceSize.height) ? "HD" : "SD") conventions)")
        }
        if source.bitDepth > video.bitDepth && !(source.isHDR && video.hdr == .tonemap) {
            notes.append("the \(source.bitDepth)-bit source is written as \(video.bitDepth)-bit (bit_depth: \(video.bitDepth))")
        }

        if source.isHDR && video.hdr == .keep {
            // As it is: only the bit depth may change (to 10).
            return ColourPlan(output: source, pixelFormat: pixelFormat, filters: [], conversion: "none", notes: notes)
        }
        if source.isHDR {
            let kind = source.hdrName ?? "HDR"
            var out = ColourProperties(primaries: ColourProperties.bt709, transfer: ColourProperties.bt709,
                                       matrix: ColourProperties.bt709, range: ColourProperties.rangeLimited, bitDepth: video.bitDepth)
            out.bitDepth = video.bitDepth
            // BT.2408: HDR reference white (203 cd/m²) becomes SDR white; a 1000 cd/m² display peak
            // (HLG's nominal, and PQ masters' usual) is the brightest highlight kept.
            let peak = 1000.0 / 203.0
            let filters = [sourceTags,
                           "zscale=t=linear:npl=203", "format=gbrpf32le", "zscale=p=bt709",
                           "tonemap=tonemap=mobius:desat=0:peak=\(String(format: "%.3f", peak))",
                           "zscale=t=bt709:m=bt709:r=limited:d=error_diffusion", "format=\(pixelFormat)"]
            notes.append("\(kind) \(source.primariesName) \(source.bitDepth)-bit source tone-mapped to SDR BT.709 \(video.bitDepth)-bit (zscale + tonemap mobius, reference white 203 cd/m²)")
            return ColourPlan(output: out, pixelFormat: pixelFormat, filters: filters, conversion: "tonemap", notes: notes)
        }

        var out = source
        out.bitDepth = video.bitDepth
        out.range = ColourProperties.rangeLimited
        var steps: [String] = []
        let sd601 = source.matrix == ColourProperties.smpte170m || source.matrix == ColourProperties.bt470bg
        if sd601 && !isHD(sourceSize.width, sourceSize.height) && isHD(outputSize.width, outputSize.height) {
            out.matrix = ColourProperties.bt709
            steps.append("matrix")
            notes.append("SD BT.601 matrix converted to BT.709 for the HD output (primaries and transfer kept)")
        }
        if source.range == ColourProperties.rangeFull {
            steps.append("range")
            notes.append("full-range source converted to limited range")
        }
        guard !steps.isEmpty else {
            return ColourPlan(output: out, pixelFormat: pixelFormat, filters: [], conversion: "none", notes: notes)
        }
        // libavfilter's colorspace filter takes no full-range (yuvj) pixel formats: swscale brings
        // the values to limited range first, then colorspace changes the matrix.
        var filters = [sourceTags]
        if source.range == ColourProperties.rangeFull {
            filters += ["scale=in_range=pc:out_range=tv", "format=\(source.bitDepth > 8 ? "yuv420p10le" : "yuv420p")"]
            if out.matrix != source.matrix { filters.append("setparams=range=tv") }
        }
        if out.matrix != source.matrix {
            filters.append("colorspace=space=\(out.matrixName):trc=\(out.transferName):primaries=\(out.primariesName):range=tv")
        }
        if filters.last != "format=\(pixelFormat)" { filters.append("format=\(pixelFormat)") }
        return ColourPlan(output: out, pixelFormat: pixelFormat, filters: filters, conversion: steps.joined(separator: "+"), notes: notes)
    }
}

/// An output's colour as the result reports it (names as ffprobe writes them).
public struct ColourReport: Encodable, Sendable, Equatable {
    public var primaries: String
    public var transfer: String
    public var matrix: String
    public var range: String
    public var bitDepth: Int
    public var conversion: String

    init(_ plan: ColourPlan) {
        primaries = plan.output.primariesName; transfer = plan.output.transferName; matrix = plan.output.matrixName
        range = plan.output.rangeName; bitDepth = plan.output.bitDepth; conversion = plan.conversion
    }

    /// Video copied from the source: its colour, unchanged.
    init(copied source: ColourProperties) {
        primaries = source.primariesName; transfer = source.transferName; matrix = source.matrixName
        range = source.rangeName; bitDepth = source.bitDepth; conversion = "none (video copied)"
    }
}
