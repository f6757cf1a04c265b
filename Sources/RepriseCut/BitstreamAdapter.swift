import CFFmpeg
import RepriseMedia

/// Puts every video packet into the output's NAL framing and keeps parameter sets where
/// decoders need them:
/// - MP4/MKV keep the source's framing (so copied packets stay byte-identical); re-encoded
///   packets (Annex B from the encoder) are rewritten to length prefixes.
/// - MPEG-TS is Annex B: copied packets are converted, and every copied keyframe gets the
///   source's parameter sets in front (FFmpeg's own filter stops doing that once it has seen
///   the edge encoder's in-band sets).
/// - HEVC edges reuse the source's parameter-set ids, so the first copied keyframe after
///   re-encoded frames gets the source's sets re-sent in-band.
final class BitstreamAdapter {
    let isH264: Bool
    let isHEVC: Bool
    let sourceFraming: NALFraming
    let outputFraming: NALFraming
    let sourceSets: ParameterSets

    init(source: UnsafeMutablePointer<AVStream>, outputIsAnnexB: Bool) {
        let par = source.pointee.codecpar!.pointee
        isH264 = par.codec_id == AV_CODEC_ID_H264
        isHEVC = par.codec_id == AV_CODEC_ID_HEVC
        let extradata = par.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(par.extradata_size))) } ?? []
        sourceFraming = NALFraming.detect(extradata: extradata, isHEVC: isHEVC)
        outputFraming = outputIsAnnexB ? .annexB : sourceFraming
        sourceSets = ParameterSets(extradata: extradata, isHEVC: isHEVC)
    }

    var isNAL: Bool { isH264 || isHEVC }

    /// A copied source packet. `keyframe`: a decode start; `afterReencoded`: it follows edge frames.
    /// `relabelAsBLA`: an HEVC CRA whose leading pictures were dropped becomes BLA_W_LP, so
    /// decoders output what came before, restart picture order and expect no RASL pictures.
    func copied(_ packet: Packet, keyframe: Bool, afterReencoded: Bool, relabelAsBLA: Bool = false) throws {
        guard isNAL else { return }
        let needSets = keyframe && ((outputFraming == .annexB) || (isHEVC && afterReencoded))
        guard needSets || relabelAsBLA || sourceFraming != outputFraming else { return }
        let data = Array(packet.bytes)
        let units = NALUnits.split(data, framing: sourceFraming)
        var slices = units.map { data[$0.start..<($0.start + $0.length)] }
        if relabelAsBLA && isHEVC {
            slices = slices.map { u in
                guard let h = u.first, HEVCNAL.type(h) == HEVCNAL.cra else { return u }
                var c = Array(u)
                c[0] = (h & 0x81) | UInt8(HEVCNAL.blaWLP << 1)
                return c[...]
            }
        }
        if needSets && !sourceSets.isEmpty && !hasSPS(slices) {
            slices = sourceSets.all.map { $0[...] } + slices
            // An access unit delimiter, if any, must stay first.
            if let aud = slices.firstIndex(where: { isAUD($0) }), aud > 0 { slices.insert(slices.remove(at: aud), at: 0) }
        }
        try packet.setPayload(NALUnits.join(slices, framing: outputFraming))
    }

    /// A packet from the edge encoder (Annex B).
    func encoded(_ packet: Packet) throws {
        guard isNAL, outputFraming != .annexB else { return }
        let data = Array(packet.bytes)
        let units = NALUnits.split(data, framing: .annexB).map { data[$0.start..<($0.start + $0.length)] }
        try packet.setPayload(NALUnits.join(units, framing: outputFraming))
    }

    private func hasSPS(_ units: [ArraySlice<UInt8>]) -> Bool {
        units.contains { u in
            guard let h = u.first else { return false }
            return isHEVC ? HEVCNAL.type(h) == HEVCNAL.sps : H264NAL.type(h) == H264NAL.sps
        }
    }
    private func isAUD(_ u: ArraySlice<UInt8>) -> Bool {
        guard let h = u.first else { return false }
        return isHEVC ? HEVCNAL.type(h) == HEVCNAL.aud : H264NAL.type(h) == H264NAL.aud
    }
}
