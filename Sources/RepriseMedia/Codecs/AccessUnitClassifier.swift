/// What one access unit (a packet's worth of NAL units) is to a cutter, judged from its own bytes.
/// Whether an unclean start (a CRA, an H.264 recovery point) is clean after all depends on the
/// pictures after it, which the caller settles with a look-ahead over the index.
public struct AccessUnitKind: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Decoding may start here: IDR, any HEVC IRAP, an H.264 recovery-point I picture.
    public static let decodeStart = AccessUnitKind(rawValue: 1)
    /// A copy may start here whatever follows: IDR, HEVC BLA without RASL pictures.
    public static let cleanStart = AccessUnitKind(rawValue: 2)
    /// HEVC RASL: refers to pictures before its IRAP (H.264 leading pictures are found by look-ahead).
    public static let leading = AccessUnitKind(rawValue: 4)
    /// H.264 non-IDR I picture carrying a recovery point SEI with recovery_frame_cnt 0 (open GOP).
    public static let recoveryPoint = AccessUnitKind(rawValue: 8)
}

public enum AccessUnitClassifier {
    /// Classifies a packet by its slices, however many NAL units (AUD, SEI, parameter sets)
    /// come first. All slices of a picture share their NAL unit type, so the first VCL unit
    /// decides; only an H.264 non-IDR I slice looks further (recovery point SEI, other slices).
    /// Allocates nothing: the index scan runs this on every packet.
    public static func classify(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming, isHEVC: Bool) -> AccessUnitKind {
        isHEVC ? classifyHEVC(data, framing: framing) : classifyH264(data, framing: framing)
    }

    public static func classify(_ data: [UInt8], framing: NALFraming, isHEVC: Bool) -> AccessUnitKind {
        data.withUnsafeBufferPointer { classify($0, framing: framing, isHEVC: isHEVC) }
    }

    static func classifyHEVC(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming) -> AccessUnitKind {
        var it = NALUnitIterator(data, framing: framing)
        // A VCL unit's end is never needed: don't scan an Annex B slice for the next start code.
        while let r = it.next(measuring: { !HEVCNAL.isVCL(HEVCNAL.type($0)) }) {
            let t = HEVCNAL.type(data[r.start])
            guard HEVCNAL.isVCL(t) else { continue }
            if HEVCNAL.isIRAP(t) {
                // IDR and BLA without RASL pictures start clean; a CRA (or BLA_W_LP) is judged by look-ahead.
                let clean = HEVCNAL.isIDR(t) || t == HEVCNAL.blaNLP || t == HEVCNAL.blaWRADL
                return clean ? [.decodeStart, .cleanStart] : .decodeStart
            }
            return HEVCNAL.isRASL(t) ? .leading : []
        }
        return []
    }

    static func classifyH264(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming) -> AccessUnitKind {
        var it = NALUnitIterator(data, framing: framing)
        while let r = it.next(measuring: { !H264NAL.isVCL(H264NAL.type($0)) }) {
            let t = H264NAL.type(data[r.start])
            guard H264NAL.isVCL(t) else { continue }
            if t == H264NAL.idr { return [.decodeStart, .cleanStart] }
            // A non-IDR picture is a decode start only as an I picture with a recovery point SEI:
            // a plain I picture may be followed by pictures that refer to ones before it.
            guard let type = sliceType(data, r), isIntra(type) else { return [] }
            return isRecoveryPoint(data, framing: framing) ? [.decodeStart, .recoveryPoint] : []
        }
        return []
    }

    /// slice_type of an H.264 slice (NAL type 1, 2 or 5): first_mb_in_slice ue(v), slice_type ue(v).
    public static func sliceType(_ data: UnsafeBufferPointer<UInt8>, _ r: NALUnitRange) -> Int? {
        let t = H264NAL.type(data[r.start])
        guard t == H264NAL.slice || t == 2 || t == H264NAL.idr else { return nil }
        var reader = RBSPReader(data, start: r.start + 1, end: r.start + r.length)
        guard reader.readUE() != nil, let type = reader.readUE(), type <= 9 else { return nil }
        return type
    }

    /// I (2, 7) or SI (4, 9): decodable without other pictures. 5…9 say every slice of the picture has that type.
    @inline(__always) static func isIntra(_ sliceType: Int) -> Bool { sliceType % 5 == 2 || sliceType % 5 == 4 }

    /// The second, rarer pass for an H.264 non-IDR I picture: a recovery point SEI with
    /// recovery_frame_cnt 0 before the first slice, and every slice intra.
    static func isRecoveryPoint(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming) -> Bool {
        var it = NALUnitIterator(data, framing: framing)
        var recovery = false, sawSlice = false
        while let r = it.next() {
            let t = H264NAL.type(data[r.start])
            if t == H264NAL.sei && !sawSlice {
                if recoveryFrameCount(data, r) == 0 { recovery = true }
            } else if H264NAL.isVCL(t) {
                guard recovery else { return false }
                if t == 3 || t == 4 { continue }  // partitions B/C have no slice header
                guard let type = sliceType(data, r), isIntra(type) else { return false }
                if type >= 5 { return true }  // "all slices of this picture are of this type"
                sawSlice = true
            } else if sawSlice && (t == H264NAL.aud || t == H264NAL.sps || t == H264NAL.pps || t == H264NAL.sei) {
                break  // next access unit (should not happen within one packet)
            }
        }
        return recovery && sawSlice
    }

    /// recovery_frame_cnt of the first recovery point message (payload type 6) in an H.264 SEI NAL unit.
    public static func recoveryFrameCount(_ data: UnsafeBufferPointer<UInt8>, _ r: NALUnitRange) -> Int? {
        var reader = RBSPReader(data, start: r.start + 1, end: r.start + r.length)
        while true {
            var payloadType = 0, payloadSize = 0
            while true { guard let b = reader.readByte() else { return nil }; payloadType += b; if b != 0xFF { break } }
            while true { guard let b = reader.readByte() else { return nil }; payloadSize += b; if b != 0xFF { break } }
            if payloadType == 6 { return reader.readUE() }
            guard reader.skip(payloadSize * 8) else { return nil }
        }
    }
}
