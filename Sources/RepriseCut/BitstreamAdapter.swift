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

    convenience init(source: UnsafeMutablePointer<AVStream>, outputIsAnnexB: Bool) {
        let par = source.pointee.codecpar!.pointee
        let extradata = par.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(par.extradata_size))) } ?? []
        self.init(isH264: par.codec_id == AV_CODEC_ID_H264, isHEVC: par.codec_id == AV_CODEC_ID_HEVC,
                  extradata: extradata, outputIsAnnexB: outputIsAnnexB)
    }

    init(isH264: Bool, isHEVC: Bool, extradata: [UInt8], outputIsAnnexB: Bool) {
        self.isH264 = isH264
        self.isHEVC = isHEVC
        sourceFraming = NALFraming.detect(extradata: extradata, isHEVC: isHEVC)
        outputFraming = outputIsAnnexB ? .annexB : sourceFraming
        sourceSets = ParameterSets(extradata: extradata, isHEVC: isHEVC)
        idrContext = isH264 ? H264IDRRewriter.Context(sourceSets) : H264IDRRewriter.Context()
    }

    /// SPS/PPS fields for rewriting H.264 recovery points as IDR.
    private var idrContext: H264IDRRewriter.Context
    /// Set while a copied run began at a rewritten recovery point: what that picture had, by
    /// which the run's later pictures are renumbered up to the next IDR.
    private var renumbering: H264IDRRewriter.Origin? = nil
    /// Whether the last video packet written was a copied one (else re-encoded, or none yet).
    private var previousWasCopied = false
    /// idr_pic_id for rewritten pictures: two IDR pictures in a row must differ (an edge
    /// encoder's first IDR has 0).
    private var nextIDRPicID = 1

    var isNAL: Bool { isH264 || isHEVC }

    /// A copied source packet. `keyframe`: a decode start; `afterReencoded`: it follows edge frames.
    /// `relabelAsBLA`: an HEVC CRA whose leading pictures were dropped becomes BLA_W_LP, so
    /// decoders output what came before, restart picture order and expect no RASL pictures.
    /// H.264 has no such label and ignores it: the first copied GOP may start at a recovery-point
    /// I picture whose leading pictures (presented before it) the planner drops. That is enough
    /// on the assumption the recovery point SEI (recovery_frame_cnt 0) states: every picture
    /// presented from the I picture on refers only to it and to pictures after it, never to the
    /// dropped leading ones. (A dropped leading picture that was a reference picture leaves a
    /// frame_num gap, which decoders bridge as a lost frame; the pictures after it don't use it.)
    ///
    /// An H.264 recovery-point I picture that starts a copied run (`startsRun`; when not given:
    /// after re-encoded frames, at the output's start, or where the planner dropped its leading
    /// pictures) is rewritten as an IDR picture (`H264IDRRewriter`): only an IDR may activate the
    /// source's SPS after the edges' and reset picture order, else decoders drop the copied
    /// pictures as out of order. The caller should pass `startsRun` where a copied run follows
    /// another range's copied run directly (a reel join without re-encoded frames between).
    func copied(_ packet: Packet, keyframe: Bool, afterReencoded: Bool, relabelAsBLA: Bool = false,
                startsRun: Bool? = nil) throws {
        guard isNAL else { return }
        let runStart = startsRun ?? (afterReencoded || relabelAsBLA || !previousWasCopied)
        previousWasCopied = true
        if runStart { renumbering = nil }
        guard let payload = adapt(Array(packet.bytes), keyframe: keyframe, afterReencoded: afterReencoded,
                                  relabelAsBLA: relabelAsBLA, startsRun: runStart) else { return }
        try packet.setPayload(payload)
    }

    /// The bytes `copied` writes for a source packet, or nil to keep the packet as it is.
    func adapt(_ data: [UInt8], keyframe: Bool, afterReencoded: Bool, relabelAsBLA: Bool = false,
               startsRun: Bool = false) -> [UInt8]? {
        guard isNAL else { return nil }
        let relabel = relabelAsBLA && isHEVC
        let needSets = keyframe && ((outputFraming == .annexB) || (isHEVC && afterReencoded))
        let toIDR = isH264 && keyframe && startsRun
            && AccessUnitClassifier.classify(data, framing: sourceFraming, isHEVC: false).contains(.recoveryPoint)
        guard needSets || relabel || toIDR || renumbering != nil || sourceFraming != outputFraming else { return nil }
        let units = NALUnits.split(data, framing: sourceFraming)
        var slices = units.map { data[$0.start..<($0.start + $0.length)] }
        if toIDR {
            if let (idr, origin) = H264IDRRewriter.idrAccessUnit(slices, context: &idrContext, idrPicID: nextIDRPicID) {
                slices = idr
                nextIDRPicID = nextIDRPicID % 255 + 1
                renumbering = origin
            }
        } else if var origin = renumbering {
            if let moved = H264IDRRewriter.renumberAccessUnit(slices, context: &idrContext, from: &origin) {
                slices = moved
                renumbering = origin
            } else {
                renumbering = nil  // an IDR (or an unreadable slice): the source's own count from here
            }
        }
        if relabel {
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
        let out = NALUnits.join(slices, framing: outputFraming)
        return out == data ? nil : out
    }

    /// A packet from the edge encoder (Annex B).
    func encoded(_ packet: Packet) throws {
        previousWasCopied = false
        renumbering = nil
        guard let payload = encodedPayload(Array(packet.bytes)) else { return }
        try packet.setPayload(payload)
    }

    /// The bytes `encoded` writes for an edge-encoder packet, or nil to keep it as it is.
    func encodedPayload(_ data: [UInt8]) -> [UInt8]? {
        guard isNAL, outputFraming != .annexB else { return nil }
        let units = NALUnits.split(data, framing: .annexB).map { data[$0.start..<($0.start + $0.length)] }
        return NALUnits.join(units, framing: outputFraming)
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
