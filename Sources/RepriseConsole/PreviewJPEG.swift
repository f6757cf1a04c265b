import CFFmpeg
import Foundation
import RepriseMedia

/// Turns decoded pictures into JPEGs no wider than asked: libswscale to full-range 4:2:0 at the
/// preview size, then libavcodec's MJPEG encoder. The scaler and the encoder are kept for the
/// next picture of the same sizes (one recording's previews share them); not thread-safe, its
/// owner serialises calls.
final class PreviewJPEG {
    /// JPEG quantiser (libavcodec qscale, 2 best … 31 worst): 3 looks like the source at a
    /// fraction of a PNG's size.
    static let qscale = 3
    private var scaler: Scaler? = nil
    private var encoder: Encoder? = nil
    private let scaled = Frame()
    private let packet = Packet()
    private var counter: Int64 = 0

    /// The preview's size: the picture's display shape (pixel aspect applied) at most `maxWidth`
    /// wide, never enlarged, both sides even and at least 2 (4:2:0 needs even sides).
    static func size(width: Int, height: Int, sampleAspect: AVRational, maxWidth: Int) -> (width: Int, height: Int) {
        let sar = sampleAspect.num > 0 && sampleAspect.den > 0 ? Double(sampleAspect.num) / Double(sampleAspect.den) : 1
        let displayWidth = Double(width) * sar
        let targetWidth = min(displayWidth, Double(max(maxWidth, 2)))
        let scaledHeight = Double(height) * targetWidth / displayWidth
        // Width rounded down (never past maxWidth), height to the nearest even number.
        return (max(2, Int(targetWidth) & ~1), max(2, Int((scaledHeight / 2).rounded()) * 2))
    }

    func encode(_ picture: Frame, maxWidth: Int) throws -> (data: Data, width: Int, height: Int) {
        let f = picture.pointer.pointee
        let (w, h) = PreviewJPEG.size(width: Int(f.width), height: Int(f.height), sampleAspect: f.sample_aspect_ratio,
                                      maxWidth: maxWidth)
        // yuvj420p: swscale converts limited-range sources to the full range JPEG means.
        let format = AV_PIX_FMT_YUVJ420P
        if let s = scaler, s.sourceWidth == Int(f.width), s.sourceHeight == Int(f.height), s.sourceFormat.rawValue == f.format,
           s.width == w, s.height == h {
        } else {
            scaler = try Scaler(sourceWidth: Int(f.width), sourceHeight: Int(f.height), sourceFormat: AVPixelFormat(rawValue: f.format),
                                width: w, height: h, format: format, flags: SWS_BICUBIC)
        }
        try scaler!.scale(picture, into: scaled)
        if encoder == nil || Int(encoder!.context.pointee.width) != w || Int(encoder!.context.pointee.height) != h {
            var settings = VideoEncoderSettings(codecName: "mjpeg", width: w, height: h, pixelFormat: format.rawValue,
                                                timeBase: TimeBase(1, 25), frameRate: AVRational(num: 25, den: 1),
                                                sampleAspectRatio: AVRational(num: 1, den: 1))
            settings.threads = 1  // no frame threading: each picture comes straight back
            settings.colorRange = Int32(AVCOL_RANGE_JPEG.rawValue)
            settings.options = ["flags": "+qscale", "global_quality": "\(PreviewJPEG.qscale * Int(FF_QP2LAMBDA))"]
            encoder = try Encoder(video: settings)
        }
        let enc = encoder!
        counter += 1
        scaled.pts = counter
        scaled.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
        scaled.pointer.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        // With +qscale the encoder takes each picture's own quality.
        scaled.pointer.pointee.quality = Int32(PreviewJPEG.qscale * Int(FF_QP2LAMBDA))
        var bytes: Data? = nil
        guard try enc.send(scaled) == .ok else { throw MediaError("jpeg", message: "the MJPEG encoder refused the picture") }
        while try enc.receive(into: packet) == .ok {
            if bytes == nil, packet.size > 0 { bytes = Data(packet.bytes) }
        }
        guard let bytes else {
            encoder = nil  // a stuck encoder is not reused
            throw MediaError("jpeg", message: "the MJPEG encoder gave no picture")
        }
        return (bytes, w, h)
    }
}
