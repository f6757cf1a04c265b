import CFFmpeg

/// How a picture's numbers mean colour: primaries, transfer, matrix and range (FFmpeg's
/// AVColorPrimaries, AVColorTransferCharacteristic, AVColorSpace and AVColorRange values), and the
/// bits per component. Read from a stream's parameters or a codec context; "unspecified" is kept
/// as read, so a caller can tell a tagged source from a guessed one.
public struct ColourProperties: Equatable, Sendable {
    public var primaries: Int32
    public var transfer: Int32
    public var matrix: Int32
    public var range: Int32
    public var bitDepth: Int

    public init(primaries: Int32, transfer: Int32, matrix: Int32, range: Int32, bitDepth: Int = 8) {
        self.primaries = primaries; self.transfer = transfer; self.matrix = matrix; self.range = range; self.bitDepth = bitDepth
    }

    public init(parameters p: UnsafePointer<AVCodecParameters>) {
        self.init(primaries: Int32(p.pointee.color_primaries.rawValue), transfer: Int32(p.pointee.color_trc.rawValue),
                  matrix: Int32(p.pointee.color_space.rawValue), range: Int32(p.pointee.color_range.rawValue),
                  pixelFormat: p.pointee.format)
    }

    public init(context c: UnsafePointer<AVCodecContext>) {
        self.init(primaries: Int32(c.pointee.color_primaries.rawValue), transfer: Int32(c.pointee.color_trc.rawValue),
                  matrix: Int32(c.pointee.colorspace.rawValue), range: Int32(c.pointee.color_range.rawValue),
                  pixelFormat: c.pointee.pix_fmt.rawValue)
    }

    init(primaries: Int32, transfer: Int32, matrix: Int32, range: Int32, pixelFormat: Int32) {
        var range = range
        // The JPEG pixel formats (yuvj420p…) are full range whether or not the stream says so.
        if range == Self.rangeUnspecified, let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: pixelFormat)),
           String(cString: name).hasPrefix("yuvj") {
            range = Self.rangeFull
        }
        var depth = 8
        if let d = av_pix_fmt_desc_get(AVPixelFormat(rawValue: pixelFormat)), d.pointee.nb_components > 0 {
            depth = Int(d.pointee.comp.0.depth)
        }
        self.init(primaries: primaries, transfer: transfer, matrix: matrix, range: range, bitDepth: depth)
    }

    // The values the renderer reasons about (FFmpeg's enum values, stable across versions).
    public static let unspecified: Int32 = 2
    public static let bt709: Int32 = 1
    public static let bt470bg: Int32 = 5
    public static let smpte170m: Int32 = 6
    public static let bt2020: Int32 = 9
    public static let bt2020Matrix: Int32 = 9
    public static let bt2020Transfer10: Int32 = 14
    public static let pq: Int32 = 16
    public static let hlg: Int32 = 18
    public static let rangeUnspecified: Int32 = 0
    public static let rangeLimited: Int32 = 1
    public static let rangeFull: Int32 = 2

    /// PQ (SMPTE ST 2084) or HLG (ARIB STD-B67) transfer.
    public var isHDR: Bool { transfer == Self.pq || transfer == Self.hlg }
    public var hdrName: String? { transfer == Self.pq ? "PQ" : transfer == Self.hlg ? "HLG" : nil }

    public var primariesName: String { av_color_primaries_name(AVColorPrimaries(rawValue: UInt32(primaries))).map { String(cString: $0) } ?? "\(primaries)" }
    public var transferName: String { av_color_transfer_name(AVColorTransferCharacteristic(rawValue: UInt32(transfer))).map { String(cString: $0) } ?? "\(transfer)" }
    public var matrixName: String { av_color_space_name(AVColorSpace(rawValue: UInt32(matrix))).map { String(cString: $0) } ?? "\(matrix)" }
    /// "tv" (limited), "pc" (full) or "unknown", as ffprobe writes them.
    public var rangeName: String { av_color_range_name(AVColorRange(rawValue: UInt32(range))).map { String(cString: $0) } ?? "\(range)" }

    /// One line: "bt709/bt709/bt709 tv 8-bit" (primaries/transfer/matrix range depth), plus HDR kind.
    public var summary: String {
        "\(primariesName)/\(transferName)/\(matrixName) \(rangeName) \(bitDepth)-bit" + (hdrName.map { " (HDR \($0))" } ?? "")
    }
}
