import CFFmpeg

/// Converts video frames between sizes and pixel formats (libswscale). Owns its SwsContext.
public final class Scaler {
    private let context: OpaquePointer
    public let width: Int, height: Int, format: AVPixelFormat
    public let sourceWidth: Int, sourceHeight: Int, sourceFormat: AVPixelFormat

    public init(sourceWidth: Int, sourceHeight: Int, sourceFormat: AVPixelFormat,
                width: Int, height: Int, format: AVPixelFormat, flags: Int32 = SWS_BICUBIC) throws {
        guard let c = sws_getContext(Int32(sourceWidth), Int32(sourceHeight), sourceFormat,
                                     Int32(width), Int32(height), format, flags, nil, nil, nil) else {
            throw MediaError("scaler", message: "unsupported conversion")
        }
        context = c; self.width = width; self.height = height; self.format = format
        self.sourceWidth = sourceWidth; self.sourceHeight = sourceHeight; self.sourceFormat = sourceFormat
    }
    deinit { sws_freeContext(context) }

    /// Scales `input` into `output`, allocating its buffer; copies timestamps.
    public func scale(_ input: Frame, into output: Frame) throws {
        output.unref()
        output.pointer.pointee.width = Int32(width)
        output.pointer.pointee.height = Int32(height)
        output.pointer.pointee.format = format.rawValue
        try check(av_frame_get_buffer(output.pointer, 0), "frame buffer")
        try check(av_frame_copy_props(output.pointer, input.pointer), "frame props")
        let src = input.pointer.pointee, dst = output.pointer.pointee
        var srcData: [UnsafePointer<UInt8>?] = [src.data.0, src.data.1, src.data.2, src.data.3].map { $0.map { UnsafePointer($0) } }
        var srcLines = [src.linesize.0, src.linesize.1, src.linesize.2, src.linesize.3]
        var dstData = [dst.data.0, dst.data.1, dst.data.2, dst.data.3]
        var dstLines = [dst.linesize.0, dst.linesize.1, dst.linesize.2, dst.linesize.3]
        try check(sws_scale(context, &srcData, &srcLines, 0, src.height, &dstData, &dstLines), "scale")
    }
}
