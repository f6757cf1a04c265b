/// The fields of an H.264 SPS that a slice header's layout depends on.
public struct H264SPSFields: Sendable, Equatable {
    public var id: Int
    public var separateColourPlane: Bool
    public var log2MaxFrameNum: Int
    public var pocType: Int
    public var log2MaxPocLsb: Int
    public var deltaPicOrderAlwaysZero: Bool
    public var frameMbsOnly: Bool
    /// chroma_format_idc, or 0 with separate colour planes (pred_weight_table depends on it).
    public var chromaArrayType: Int

    public init?(nal: [UInt8]) {
        guard nal.count > 4, H264NAL.type(nal[0]) == H264NAL.sps else { return nil }
        var r = PlainBits(NALUnits.unescape(nal[1...]))
        guard let profile = r.u(8), r.skip(16), let id = r.ue(), id < 32 else { return nil }
        self.id = id
        separateColourPlane = false
        chromaArrayType = 1
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            guard let chroma = r.ue(), chroma <= 3 else { return nil }
            chromaArrayType = chroma
            if chroma == 3 { guard let f = r.u(1) else { return nil }; separateColourPlane = f == 1 }
            if separateColourPlane { chromaArrayType = 0 }
            guard r.ue() != nil, r.ue() != nil, r.skip(1), let matrix = r.u(1) else { return nil }
            if matrix == 1 {
                for i in 0..<(chroma != 3 ? 8 : 12) {
                    guard let present = r.u(1) else { return nil }
                    guard present == 1 else { continue }
                    var last = 8, next = 8
                    for _ in 0..<(i < 6 ? 16 : 64) where next != 0 {
                        guard let delta = r.se() else { return nil }
                        next = (last + delta + 256) % 256
                        if next != 0 { last = next }
                    }
                }
            }
        }
        guard let lmfn = r.ue(), lmfn <= 12, let poc = r.ue(), poc <= 2 else { return nil }
        log2MaxFrameNum = lmfn + 4
        pocType = poc
        log2MaxPocLsb = 0
        deltaPicOrderAlwaysZero = false
        if poc == 0 {
            guard let l = r.ue(), l <= 12 else { return nil }
            log2MaxPocLsb = l + 4
        } else if poc == 1 {
            guard let z = r.u(1), r.se() != nil, r.se() != nil, let n = r.ue(), n < 256 else { return nil }
            deltaPicOrderAlwaysZero = z == 1
            for _ in 0..<n { guard r.se() != nil else { return nil } }
        }
        guard r.ue() != nil, r.skip(1), r.ue() != nil, r.ue() != nil, let fmo = r.u(1) else { return nil }
        frameMbsOnly = fmo == 1
    }
}

/// The fields of an H.264 PPS that a slice header's layout depends on.
public struct H264PPSFields: Sendable, Equatable {
    public var id: Int
    public var spsID: Int
    public var cabac: Bool
    public var bottomFieldPicOrderInFramePresent: Bool
    public var numSliceGroupsMinus1: Int
    public var deblockingFilterControlPresent: Bool
    public var redundantPicCntPresent: Bool
    public var numRefIdxL0DefaultMinus1 = 0
    public var numRefIdxL1DefaultMinus1 = 0
    public var weightedPred = false
    public var weightedBipredIdc = 0

    public init?(nal: [UInt8]) {
        guard nal.count > 1, H264NAL.type(nal[0]) == H264NAL.pps else { return nil }
        var r = PlainBits(NALUnits.unescape(nal[1...]))
        guard let id = r.ue(), id < 256, let sps = r.ue(), sps < 32, let cabac = r.u(1), let bottom = r.u(1),
              let groups = r.ue() else { return nil }
        self.id = id; spsID = sps; self.cabac = cabac == 1; bottomFieldPicOrderInFramePresent = bottom == 1
        numSliceGroupsMinus1 = groups
        deblockingFilterControlPresent = false
        redundantPicCntPresent = false
        // Slice groups (FMO, Baseline only) are not followed further: such streams aren't rewritten.
        guard groups == 0 else { return }
        guard let l0 = r.ue(), l0 < 32, let l1 = r.ue(), l1 < 32, let wp = r.u(1), let wb = r.u(2),
              r.se() != nil, r.se() != nil, r.se() != nil,
              let deblock = r.u(1), r.skip(1), let redundant = r.u(1) else { return nil }
        numRefIdxL0DefaultMinus1 = l0; numRefIdxL1DefaultMinus1 = l1
        weightedPred = wp == 1; weightedBipredIdc = wb
        deblockingFilterControlPresent = deblock == 1
        redundantPicCntPresent = redundant == 1
    }
}

/// Turns an H.264 recovery-point I picture (non-IDR, every slice intra) into an IDR picture, so
/// that a copy may begin with it after frames from elsewhere: only an IDR may activate another
/// SPS (the edges have their own ids) and reset picture order; without it FFmpeg drops the first
/// copied GOP's pictures as out of order. Each slice gets NAL type 5, frame_num 0, an
/// idr_pic_id, pic_order_cnt_lsb 0, IDR reference marking (the picture's own memory management
/// operations go: an IDR empties the reference buffer anyway); everything else is kept bit for
/// bit. The pictures after it, up to the next IDR, must then count from it: `renumber` moves
/// their frame_num and pic_order_cnt_lsb by the I picture's values (same field widths, so only
/// those bits change; differences, and with them reference lists and output order, stay).
/// Refused (nil) for a non-reference picture, slice groups, or a non-intra slice.
/// Not handled: a dropped leading picture that was a reference picture still leaves a frame_num
/// gap (x264's open-GOP leading B pictures are not references), and a later picture with
/// memory_management_control_operation 5 would be renumbered although it restarts the count.
public enum H264IDRRewriter {
    public struct Context: Sendable {
        public var sps: [Int: H264SPSFields] = [:]
        public var pps: [Int: H264PPSFields] = [:]
        public init() {}
        public init(_ sets: ParameterSets) { add(sets) }
        public mutating func add(_ sets: ParameterSets) {
            for s in sets.sps { if let f = H264SPSFields(nal: s) { sps[f.id] = f } }
            for p in sets.pps { if let f = H264PPSFields(nal: p) { pps[f.id] = f } }
        }
    }

    /// What the rewritten picture had (later pictures are moved back by these), and how far
    /// the run has counted since (frame_num unwrapped), to tell references to pictures before
    /// the IDR from ones after a wrap.
    public struct Origin: Sendable, Equatable {
        public var frameNum: Int
        public var pocLsb: Int
        var lastFrameNum = 0
        var unwrappedFrameNum = 0
        public init(frameNum: Int, pocLsb: Int) { self.frameNum = frameNum; self.pocLsb = pocLsb }
    }

    /// The IDR form of one coded slice NAL unit (type 1, header byte included), or nil.
    public static func idrSlice(_ nal: ArraySlice<UInt8>, context: Context, idrPicID: Int) -> [UInt8]? {
        idrSliceAndOrigin(nal, context: context, idrPicID: idrPicID)?.0
    }

    static func idrSliceAndOrigin(_ nal: ArraySlice<UInt8>, context: Context, idrPicID: Int) -> ([UInt8], Origin)? {
        guard let h = nal.first, H264NAL.type(h) == H264NAL.slice, (h >> 5) & 3 != 0 else { return nil }
        let rbsp = NALUnits.unescape(nal.dropFirst())
        var r = PlainBits(rbsp)
        guard let firstMB = r.ue(), let sliceType = r.ue(), sliceType <= 9,
              sliceType % 5 == 2 || sliceType % 5 == 4,
              let ppsID = r.ue(), let pps = context.pps[ppsID], pps.numSliceGroupsMinus1 == 0,
              let sps = context.sps[pps.spsID] else { return nil }
        var w = RBSPWriter()
        w.writeUE(firstMB); w.writeUE(sliceType); w.writeUE(ppsID)
        if sps.separateColourPlane { guard let c = r.u(2) else { return nil }; w.writeBits(2, c) }
        guard let frameNum = r.u(sps.log2MaxFrameNum) else { return nil }
        w.writeBits(sps.log2MaxFrameNum, 0)
        var fieldPic = 0
        if !sps.frameMbsOnly {
            guard let f = r.u(1) else { return nil }
            fieldPic = f
            w.writeBit(f)
            if f == 1 { guard let b = r.u(1) else { return nil }; w.writeBit(b) }
        }
        w.writeUE(idrPicID)
        // Picture order count from 0; the rest of it and redundant_pic_cnt kept as they are.
        var pocLsb = 0
        if sps.pocType == 0 {
            guard let lsb = r.u(sps.log2MaxPocLsb) else { return nil }
            pocLsb = lsb
            w.writeBits(sps.log2MaxPocLsb, 0)
        }
        let keepFrom = r.position
        if sps.pocType == 0 {
            if pps.bottomFieldPicOrderInFramePresent && fieldPic == 0 { guard r.se() != nil else { return nil } }
        } else if sps.pocType == 1 && !sps.deltaPicOrderAlwaysZero {
            guard r.se() != nil else { return nil }
            if pps.bottomFieldPicOrderInFramePresent && fieldPic == 0 { guard r.se() != nil else { return nil } }
        }
        if pps.redundantPicCntPresent { guard r.ue() != nil else { return nil } }
        guard r.copy(keepFrom..<r.position, into: &w) else { return nil }
        // dec_ref_pic_marking: the non-IDR form out, the IDR form (no_output_of_prior_pics 0, long_term 0) in.
        guard let adaptive = r.u(1) else { return nil }
        if adaptive == 1 {
            while true {
                guard let op = r.ue(), op <= 6 else { return nil }
                if op == 0 { break }
                if op == 1 || op == 3 { guard r.ue() != nil else { return nil } }
                if op == 2 { guard r.ue() != nil else { return nil } }
                if op == 3 || op == 6 { guard r.ue() != nil else { return nil } }
                if op == 4 { guard r.ue() != nil else { return nil } }
            }
        }
        w.writeBit(0); w.writeBit(0)
        guard copyTail(from: &r, start: r.position, rbsp: rbsp, sliceType: sliceType % 5, pps: pps, into: &w) else { return nil }
        return ([(h & 0xE0) | UInt8(H264NAL.idr)] + NALUnits.escape(w.bytes[...]), Origin(frameNum: frameNum, pocLsb: pocLsb))
    }

    /// A later slice (type 1) of the run an `idrSlice` began: frame_num and pic_order_cnt_lsb
    /// moved back by `origin`'s (modulo their ranges; field widths stay, so only those bits
    /// change), and memory management operations that unmark a short-term picture from before the
    /// IDR dropped (that picture is gone; decoders would report a failure). Unchanged slices come
    /// back as they were. nil if the slice can't be read.
    public static func renumber(_ nal: ArraySlice<UInt8>, context: Context, from origin: inout Origin) -> [UInt8]? {
        guard let h = nal.first, H264NAL.type(h) == H264NAL.slice else { return nil }
        var rbsp = NALUnits.unescape(nal.dropFirst())
        var r = PlainBits(rbsp)
        guard r.ue() != nil, let sliceType = r.ue(), sliceType <= 9, let ppsID = r.ue(),
              let pps = context.pps[ppsID], pps.numSliceGroupsMinus1 == 0, let sps = context.sps[pps.spsID] else { return nil }
        let st = sliceType % 5  // 0 P, 1 B, 2 I, 3 SP, 4 SI
        let maxFrameNum = 1 << sps.log2MaxFrameNum
        if sps.separateColourPlane { guard r.skip(2) else { return nil } }
        let frameNumAt = r.position
        guard let frameNum = r.u(sps.log2MaxFrameNum) else { return nil }
        let newFrameNum = (frameNum - origin.frameNum) & (maxFrameNum - 1)
        var changed = newFrameNum != frameNum
        PlainBits.put(&rbsp, at: frameNumAt, width: sps.log2MaxFrameNum, newFrameNum)
        // Count on from the last picture (frame_num steps forward by little), to unwrap it.
        origin.unwrappedFrameNum += (newFrameNum - origin.lastFrameNum) & (maxFrameNum - 1)
        origin.lastFrameNum = newFrameNum
        var fieldPic = 0
        if !sps.frameMbsOnly {
            guard let f = r.u(1) else { return nil }
            fieldPic = f
            if f == 1 { guard r.skip(1) else { return nil } }
        }
        if sps.pocType == 0 {
            let lsbAt = r.position
            guard let lsb = r.u(sps.log2MaxPocLsb) else { return nil }
            let newLsb = (lsb - origin.pocLsb) & ((1 << sps.log2MaxPocLsb) - 1)
            changed = changed || newLsb != lsb
            PlainBits.put(&rbsp, at: lsbAt, width: sps.log2MaxPocLsb, newLsb)
            if pps.bottomFieldPicOrderInFramePresent && fieldPic == 0 { guard r.se() != nil else { return nil } }
        } else if sps.pocType == 1 && !sps.deltaPicOrderAlwaysZero {
            guard r.se() != nil else { return nil }
            if pps.bottomFieldPicOrderInFramePresent && fieldPic == 0 { guard r.se() != nil else { return nil } }
        }
        if pps.redundantPicCntPresent { guard r.ue() != nil else { return nil } }
        // Only reference frames (not fields) are looked into further.
        guard (h >> 5) & 3 != 0, fieldPic == 0 else { return changed ? [h] + NALUnits.escape(rbsp[...]) : Array(nal) }
        if st == 1 { guard r.skip(1) else { return nil } }   // direct_spatial_mv_pred_flag
        var l0 = pps.numRefIdxL0DefaultMinus1, l1 = pps.numRefIdxL1DefaultMinus1
        if st == 0 || st == 1 || st == 3 {
            guard let override = r.u(1) else { return nil }
            if override == 1 {
                guard let n0 = r.ue(), n0 < 32 else { return nil }
                l0 = n0
                if st == 1 { guard let n1 = r.ue(), n1 < 32 else { return nil }; l1 = n1 }
            }
        }
        // ref_pic_list_modification
        for list in 0..<(st == 1 ? 2 : (st == 2 || st == 4 ? 0 : 1)) {
            _ = list
            guard let flag = r.u(1) else { return nil }
            if flag == 1 {
                var guardCount = 0
                while true {
                    guard let idc = r.ue(), idc <= 5, guardCount < 66 else { return nil }
                    guardCount += 1
                    if idc == 3 { break }
                    guard r.ue() != nil else { return nil }
                }
            }
        }
        if (pps.weightedPred && (st == 0 || st == 3)) || (pps.weightedBipredIdc == 1 && st == 1) {
            guard r.ue() != nil else { return nil }
            if sps.chromaArrayType != 0 { guard r.ue() != nil else { return nil } }
            for count in (st == 1 ? [l0, l1] : [l0]) {
                for _ in 0...count {
                    guard let lf = r.u(1) else { return nil }
                    if lf == 1 { guard r.se() != nil, r.se() != nil else { return nil } }
                    if sps.chromaArrayType != 0 {
                        guard let cf = r.u(1) else { return nil }
                        if cf == 1 { for _ in 0..<4 { guard r.se() != nil else { return nil } } }
                    }
                }
            }
        }
        // dec_ref_pic_marking
        let markingAt = r.position
        guard let adaptive = r.u(1) else { return nil }
        guard adaptive == 1 else { return changed ? [h] + NALUnits.escape(rbsp[...]) : Array(nal) }
        var ops: [[Int]] = []
        var dropped = false
        while true {
            guard let op = r.ue(), op <= 6, ops.count < 66 else { return nil }
            if op == 0 { break }
            var args: [Int] = []
            let count = (op == 3) ? 2 : (op == 5 ? 0 : 1)
            for _ in 0..<count { guard let v = r.ue() else { return nil }; args.append(v) }
            // Unmarking a short-term picture from before the IDR: it isn't there any more.
            if op == 1 && origin.unwrappedFrameNum - (args[0] + 1) < 0 { dropped = true; continue }
            ops.append([op] + args)
        }
        guard dropped else { return changed ? [h] + NALUnits.escape(rbsp[...]) : Array(nal) }
        let markingEnd = r.position
        // Rebuild: the header up to the marking (renumbered), the new marking, then the rest.
        var w = RBSPWriter()
        let patched = PlainBits(rbsp)
        guard patched.copy(0..<markingAt, into: &w) else { return nil }
        w.writeBit(1)
        for op in ops { for v in op { w.writeUE(v) } }
        w.writeUE(0)
        guard copyTail(from: &r, start: markingEnd, rbsp: rbsp, sliceType: st, pps: pps, into: &w) else { return nil }
        return [h] + NALUnits.escape(w.bytes[...])
    }

    /// The slice header after dec_ref_pic_marking and the slice data, from bit `start` of `rbsp`
    /// (`r` stands there): CABAC re-aligns its byte-aligned data, CAVLC ends in new trailing bits.
    private static func copyTail(from r: inout PlainBits, start: Int, rbsp: [UInt8], sliceType st: Int,
                                 pps: H264PPSFields, into w: inout RBSPWriter) -> Bool {
        if pps.cabac {
            if st != 2 && st != 4 { guard r.ue() != nil else { return false } }   // cabac_init_idc
            guard r.se() != nil else { return false }                            // slice_qp_delta
            if st == 3 || st == 4 {
                if st == 3 { guard r.skip(1) else { return false } }            // sp_for_switch_flag
                guard r.se() != nil else { return false }                        // slice_qs_delta
            }
            if pps.deblockingFilterControlPresent {
                guard let idc = r.ue() else { return false }
                if idc != 1 { guard r.se() != nil, r.se() != nil else { return false } }
            }
            guard r.copy(start..<r.position, into: &w) else { return false }
            while !w.isByteAligned { w.writeBit(1) }
            let dataStart = (r.position + 7) / 8
            guard dataStart <= rbsp.count else { return false }
            w.append(bytes: rbsp[dataStart...])
        } else {
            guard let stop = rbsp.lastIndex(where: { $0 != 0 }) else { return false }
            let stopBit = stop * 8 + 7 - rbsp[stop].trailingZeroBitCount
            guard stopBit >= start, r.copy(start..<stopBit, into: &w) else { return false }
            w.writeBit(1)
            while !w.isByteAligned { w.writeBit(0) }
        }
        return true
    }

    /// The access unit's NAL units with every slice rewritten as IDR and what the picture had,
    /// or nil when any slice can't be rewritten (then nothing changes). Other units are kept;
    /// parameter sets in the access unit itself take precedence over `context`'s.
    public static func idrAccessUnit(_ units: [ArraySlice<UInt8>], context: inout Context,
                                     idrPicID: Int) -> ([ArraySlice<UInt8>], Origin)? {
        learnSets(units, into: &context)
        var out: [ArraySlice<UInt8>] = []
        var origin: Origin? = nil
        for u in units {
            guard let h = u.first else { continue }
            let t = H264NAL.type(h)
            if t == H264NAL.slice {
                guard let (idr, o) = idrSliceAndOrigin(u, context: context, idrPicID: idrPicID) else { return nil }
                out.append(idr[...])
                origin = o
            } else if H264NAL.isVCL(t) {
                return nil  // data partitions, or an IDR already
            } else {
                out.append(u)
            }
        }
        return origin.map { (out, $0) }
    }

    /// A later access unit of the run, renumbered (see `renumber`); nil when it holds an IDR
    /// (the run's count ends there) or a slice that can't be read.
    public static func renumberAccessUnit(_ units: [ArraySlice<UInt8>], context: inout Context,
                                          from origin: inout Origin) -> [ArraySlice<UInt8>]? {
        learnSets(units, into: &context)
        var out: [ArraySlice<UInt8>] = []
        for u in units {
            guard let h = u.first else { continue }
            let t = H264NAL.type(h)
            if t == H264NAL.slice {
                guard let moved = renumber(u, context: context, from: &origin) else { return nil }
                out.append(moved[...])
            } else if H264NAL.isVCL(t) {
                return nil
            } else {
                out.append(u)
            }
        }
        return out
    }

    private static func learnSets(_ units: [ArraySlice<UInt8>], into context: inout Context) {
        for u in units {
            guard let h = u.first else { continue }
            let t = H264NAL.type(h)
            if t == H264NAL.sps, let f = H264SPSFields(nal: Array(u)) { context.sps[f.id] = f }
            if t == H264NAL.pps, let f = H264PPSFields(nal: Array(u)) { context.pps[f.id] = f }
        }
    }
}

/// Bits of an RBSP (emulation prevention already removed), with a position that can be copied from.
struct PlainBits {
    let bytes: [UInt8]
    private(set) var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func bit(at i: Int) -> Int { Int((bytes[i >> 3] >> UInt8(7 - (i & 7))) & 1) }
    /// Overwrites `width` bits at bit `at` with `value`.
    static func put(_ bytes: inout [UInt8], at: Int, width: Int, _ value: Int) {
        for k in 0..<width {
            let i = at + k
            let mask = UInt8(0x80 >> (i & 7))
            if (value >> (width - 1 - k)) & 1 == 1 { bytes[i >> 3] |= mask } else { bytes[i >> 3] &= ~mask }
        }
    }
    mutating func u(_ n: Int) -> Int? {
        guard position + n <= bytes.count * 8 else { return nil }
        var v = 0
        for _ in 0..<n { v = (v << 1) | bit(at: position); position += 1 }
        return v
    }
    mutating func skip(_ n: Int) -> Bool {
        guard position + n <= bytes.count * 8 else { return false }
        position += n
        return true
    }
    mutating func ue() -> Int? {
        var zeros = 0
        while true {
            guard let b = u(1) else { return nil }
            if b == 1 { break }
            zeros += 1
            if zeros > 31 { return nil }
        }
        guard let rest = u(zeros) else { return nil }
        return (1 << zeros) - 1 + rest
    }
    mutating func se() -> Int? {
        guard let k = ue() else { return nil }
        return k % 2 == 1 ? (k + 1) / 2 : -(k / 2)
    }
    /// Writes bits `range` of the RBSP to `w` (whole bytes at a time where the writer is aligned with them).
    func copy(_ range: Range<Int>, into w: inout RBSPWriter) -> Bool {
        guard range.upperBound <= bytes.count * 8 else { return false }
        var i = range.lowerBound
        while i < range.upperBound {
            if i & 7 == 0 && w.isByteAligned && range.upperBound - i >= 8 {
                let n = (range.upperBound - i) / 8
                w.append(bytes: bytes[(i >> 3)..<((i >> 3) + n)])
                i += n * 8
            } else {
                w.writeBit(bit(at: i))
                i += 1
            }
        }
        return true
    }
}
