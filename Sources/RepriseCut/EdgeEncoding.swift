import CFFmpeg
import RepriseMedia

/// How re-encoded frames are made so that they join copied source packets: the source's
/// codec, profile, level, bit depth and chroma format, no B-frames (so DTS can be placed
/// before the copied run), parameter sets in-band, and for H.264 parameter-set ids of
/// their own that are also listed in the output's avcC (so players that read only avcC
/// decode every frame too). Framing and re-sent parameter sets are `BitstreamAdapter`'s job.
public struct EdgeEncoding {
    public enum Family: Sendable { case h264, hevc, other }
    public let family: Family
    public let settings: VideoEncoderSettings
    /// Extradata for the output stream (the source's, with the edge encoder's sets added for H.264).
    public private(set) var outputExtradata: [UInt8]
    /// Whether the output needs in-band parameter sets to be honoured (hev1 in MP4).
    public let needsInBandParameterSets: Bool

    /// Constant quality for the edges, capped, in place of the source's average bitrate (a short
    /// average-bitrate encode starts starved): a transcode profile's `quality` and `max_bitrate`.
    public struct Quality: Sendable, Equatable {
        public var crf: Double
        public var maxBitRate: Int64?
        public var bufferSize: Int64?
        public init(crf: Double, maxBitRate: Int64? = nil, bufferSize: Int64? = nil) {
            self.crf = crf; self.maxBitRate = maxBitRate; self.bufferSize = bufferSize
        }
    }

    /// - Parameter matchSource: false when the source codec can't be matched (exact fallback to H.264).
    /// - Parameter inBandParameterSets: sets the source carries in its packets (after a reconnect),
    ///   where known: the edges' H.264 id avoids theirs too.
    public init(stream: UnsafeMutablePointer<AVStream>, info: StreamInfo, bitRate: Int64, preset: String,
                matchSource: Bool, outputNeedsGlobalHeader: Bool, inBandParameterSets: ParameterSets? = nil,
                quality: Quality? = nil) throws {
        let par = stream.pointee.codecpar!.pointee
        let extradata = par.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(par.extradata_size))) } ?? []
        let isHEVC = par.codec_id == AV_CODEC_ID_HEVC
        family = !matchSource ? .other : (par.codec_id == AV_CODEC_ID_H264 ? .h264 : (isHEVC ? .hevc : .other))
        let sourceParameterSets = ParameterSets(extradata: extradata, isHEVC: isHEVC)

        var frameRate = stream.pointee.avg_frame_rate
        if frameRate.num <= 0 || frameRate.den <= 0 { frameRate = stream.pointee.r_frame_rate }
        if frameRate.num <= 0 || frameRate.den <= 0 { frameRate = AVRational(num: 30, den: 1) }
        var pixFmt = par.format
        if pixFmt == AV_PIX_FMT_YUVJ420P.rawValue { pixFmt = AV_PIX_FMT_YUV420P.rawValue }
        var s = VideoEncoderSettings(codecName: "libx264", width: Int(par.width), height: Int(par.height),
                                     pixelFormat: pixFmt, timeBase: info.timeBase, frameRate: frameRate,
                                     sampleAspectRatio: par.sample_aspect_ratio)
        s.colorRange = Int32(par.color_range.rawValue)
        if par.format == AV_PIX_FMT_YUVJ420P.rawValue { s.colorRange = Int32(AVCOL_RANGE_JPEG.rawValue) }
        s.colorPrimaries = Int32(par.color_primaries.rawValue)
        s.colorTransfer = Int32(par.color_trc.rawValue)
        s.colorSpace = Int32(par.color_space.rawValue)
        s.chromaLocation = Int32(par.chroma_location.rawValue)
        s.maxBFrames = 0
        s.gopSize = 100_000
        if bitRate > 0 {
            s.bitRate = bitRate
            s.maxRate = bitRate * 2
            s.bufferSize = bitRate * 2
        }
        if let quality {
            s.bitRate = nil
            s.maxRate = quality.maxBitRate
            s.bufferSize = quality.bufferSize ?? quality.maxBitRate.map { $0 * 2 }
        }
        s.options["preset"] = preset
        var inBand = false
        switch family {
        case .h264:
            if let name = EdgeEncoding.x264Profile(par.profile) { s.options["profile"] = name }
            if par.level > 0 { s.level = par.level }
            // Free as SPS id and as PPS id: x264's sps-id gives both the same id.
            let id = sourceParameterSets.unusedH264ID(avoiding: inBandParameterSets.map { [$0] } ?? [])
            s.options["x264-params"] = "sps-id=\(id)"
            if bitRate <= 0 { s.options["crf"] = "18" }
            if let quality { s.options["crf"] = String(quality.crf) }
        case .hevc:
            s.codecName = "libx265"
            var params = ["log-level=error", "bframes=0", "repeat-headers=1", "open-gop=0", "scenecut=0", "info=0"]
            if par.level > 0 { params.append("level-idc=\(Double(par.level) / 30.0)") }
            if let quality { params.append("crf=\(quality.crf)") } else if bitRate <= 0 { params.append("crf=20") }
            s.options["x265-params"] = params.joined(separator: ":")
            if par.profile == 2 { s.options["profile"] = "main10" } else if par.profile == 1 { s.options["profile"] = "main" }
            inBand = true
        case .other:
            // Fallback: the whole range becomes H.264 High with headers for the container.
            s.options["crf"] = "18"
            s.bitRate = nil; s.maxRate = nil; s.bufferSize = nil
            s.maxBFrames = nil
            s.pixelFormat = AV_PIX_FMT_YUV420P.rawValue
            s.globalHeader = outputNeedsGlobalHeader
        }
        settings = s
        needsInBandParameterSets = inBand
        outputExtradata = extradata

        if family == .h264 {
            // Learn the edge encoder's SPS/PPS (same settings give the same sets) and list them beside the source's.
            var probe = s
            probe.globalHeader = true
            let enc = try Encoder(video: probe)
            let extra = ParameterSets(annexBPacket: enc.extradata, isHEVC: false)
            if extradata.first == 1, let merged = ParameterSets.mergedAVCC(source: extradata, adding: extra) {
                outputExtradata = merged
            } else if !extradata.isEmpty, extradata.first != 1, !sourceParameterSets.conflicts(with: extra) {
                // Annex B extradata (MPEG-TS source): append the new sets (those not already
                // there); muxers convert to avcC.
                let held = Set(sourceParameterSets.all.map { ParameterSets.canonicalBytes($0) })
                let added = extra.all.filter { !held.contains(ParameterSets.canonicalBytes($0)) }
                outputExtradata = extradata + NALUnits.join(added.map { $0[...] }, framing: .annexB)
            }
        }
    }

    static func x264Profile(_ p: Int32) -> String? {
        switch p {
        case 66, 578: return "baseline"
        case 77: return "main"
        case 100: return "high"
        case 110: return "high10"
        case 122: return "high422"
        case 244: return "high444"
        default: return nil
        }
    }
}
