/// H.264/HEVC parameter sets as carried in a stream's extradata (avcC/hvcC records or Annex B).
/// Cutting needs them to (a) give re-encoded edges their own ids and list both sets in avcC,
/// and (b) re-send the source's sets in-band where a copied run follows re-encoded frames.
public struct ParameterSets: Sendable {
    public var isHEVC: Bool
    public var vps: [[UInt8]] = []
    public var sps: [[UInt8]] = []
    public var pps: [[UInt8]] = []

    public init(isHEVC: Bool) { self.isHEVC = isHEVC }

    public var isEmpty: Bool { sps.isEmpty || pps.isEmpty }

    /// All parameter-set NAL units in decoding order (VPS, SPS, PPS).
    public var all: [[UInt8]] { vps + sps + pps }

    /// Parses avcC / hvcC, or Annex B extradata.
    public init(extradata: [UInt8], isHEVC: Bool) {
        self.isHEVC = isHEVC
        guard !extradata.isEmpty else { return }
        if extradata[0] == 1 {
            if isHEVC { parseHVCC(extradata) } else { parseAVCC(extradata) }
        } else {
            for r in NALUnits.split(extradata, framing: .annexB) {
                add(Array(extradata[r.start..<(r.start + r.length)]))
            }
        }
    }

    /// Collects parameter sets from an Annex B packet (an encoder's keyframe with in-band headers).
    public init(annexBPacket data: [UInt8], isHEVC: Bool) {
        self.isHEVC = isHEVC
        for r in NALUnits.split(data, framing: .annexB) { add(Array(data[r.start..<(r.start + r.length)])) }
    }

    mutating func add(_ nal: [UInt8]) {
        guard let h = nal.first else { return }
        if isHEVC {
            switch HEVCNAL.type(h) {
            case HEVCNAL.vps: vps.append(nal)
            case HEVCNAL.sps: sps.append(nal)
            case HEVCNAL.pps: pps.append(nal)
            default: break
            }
        } else {
            switch H264NAL.type(h) {
            case H264NAL.sps: sps.append(nal)
            case H264NAL.pps: pps.append(nal)
            default: break
            }
        }
    }

    private mutating func parseAVCC(_ d: [UInt8]) {
        guard d.count >= 7 else { return }
        var i = 5
        let nsps = Int(d[i] & 0x1F); i += 1
        for _ in 0..<nsps {
            guard i + 2 <= d.count else { return }
            let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            guard i + len <= d.count else { return }
            sps.append(Array(d[i..<(i + len)])); i += len
        }
        guard i < d.count else { return }
        let npps = Int(d[i]); i += 1
        for _ in 0..<npps {
            guard i + 2 <= d.count else { return }
            let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            guard i + len <= d.count else { return }
            pps.append(Array(d[i..<(i + len)])); i += len
        }
    }

    private mutating func parseHVCC(_ d: [UInt8]) {
        guard d.count >= 23 else { return }
        var i = 22
        let arrays = Int(d[i]); i += 1
        for _ in 0..<arrays {
            guard i + 3 <= d.count else { return }
            i += 1  // array_completeness + NAL type
            let n = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            for _ in 0..<n {
                guard i + 2 <= d.count else { return }
                let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
                guard i + len <= d.count else { return }
                add(Array(d[i..<(i + len)])); i += len
            }
        }
    }

    /// seq_parameter_set_id of an H.264 SPS NAL unit.
    public static func h264SPSID(_ nal: [UInt8]) -> Int? {
        guard nal.count > 4 else { return nil }
        var r = BitReader(rbspOf: nal[4...])
        return r.readUE()
    }

    /// The lowest H.264 SPS id the source does not use (x264's `sps-id` also sets the PPS id).
    public func unusedH264ID() -> Int {
        let used = Set(sps.compactMap(ParameterSets.h264SPSID))
        return (0..<32).first { !used.contains($0) } ?? 1
    }

    /// An avcC record listing the source's sets followed by `extra`'s (ids must not clash).
    public static func mergedAVCC(source: [UInt8], adding extra: ParameterSets) -> [UInt8]? {
        guard source.count >= 7, source[0] == 1 else { return nil }
        let base = ParameterSets(extradata: source, isHEVC: false)
        // Tail after the PPS list (High-profile chroma/bit-depth fields) is kept as is.
        var i = 5
        let nsps = Int(source[i] & 0x1F); i += 1
        for _ in 0..<nsps { guard i + 2 <= source.count else { return nil }; i += 2 + (Int(source[i]) << 8 | Int(source[i + 1])) }
        guard i < source.count else { return nil }
        let npps = Int(source[i]); i += 1
        for _ in 0..<npps { guard i + 2 <= source.count else { return nil }; i += 2 + (Int(source[i]) << 8 | Int(source[i + 1])) }
        guard i <= source.count else { return nil }
        let tail = Array(source[i...])
        let allSPS = base.sps + extra.sps, allPPS = base.pps + extra.pps
        guard allSPS.count < 32, allPPS.count < 256 else { return nil }
        var out = Array(source[0..<5])
        out.append(0xE0 | UInt8(allSPS.count))
        for s in allSPS { out += [UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s }
        out.append(UInt8(allPPS.count))
        for p in allPPS { out += [UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        return out + tail
    }
}
