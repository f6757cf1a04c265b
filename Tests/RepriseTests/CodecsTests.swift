import Foundation
import XCTest
@testable import RepriseCut
@testable import RepriseMedia

// The test target has its own `NALUnits` (Support/NALUnits.swift); these tests mean the library's.
private typealias LibNALUnits = RepriseMedia.NALUnits

/// Writes bits MSB first, with Exp-Golomb codes: enough to build NAL units by hand.
private struct BitWriter {
    var bytes: [UInt8] = []
    var bitCount = 0

    mutating func bit(_ b: Int) {
        if bitCount % 8 == 0 { bytes.append(0) }
        if b != 0 { bytes[bytes.count - 1] |= UInt8(0x80 >> (bitCount % 8)) }
        bitCount += 1
    }
    mutating func u(_ n: Int, _ v: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) { bit((v >> i) & 1) }
    }
    mutating func ue(_ v: Int) {
        let x = v + 1
        let len = Int.bitWidth - x.leadingZeroBitCount
        u(len - 1, 0)
        u(len, x)
    }
    mutating func se(_ v: Int) { ue(v > 0 ? 2 * v - 1 : -2 * v) }
    mutating func byte(_ b: UInt8) { u(8, Int(b)) }
    /// rbsp_trailing_bits: a one, then zeros to the byte boundary.
    mutating func trailing() {
        bit(1)
        while bitCount % 8 != 0 { bit(0) }
    }
}

/// RBSP → NAL payload: an emulation-prevention byte after two zeros before a byte ≤ 3.
private func escape(_ rbsp: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var zeros = 0
    for b in rbsp {
        if zeros >= 2 && b <= 3 { out.append(3); zeros = 0 }
        out.append(b)
        zeros = b == 0 ? zeros + 1 : 0
    }
    if out.last == 0 { out.append(3) }  // an RBSP ending in cabac_zero_words
    return out
}

// MARK: H.264 NAL units

private enum H264 {
    static let aud: [UInt8] = [0x09, 0xF0]

    /// A slice: first_mb_in_slice, slice_type, pic_parameter_set_id, frame_num (4 bits), then body bytes.
    static func slice(nalType: Int = 1, refIdc: Int = 2, firstMB: Int = 0, sliceType: Int, body: [UInt8] = [0x9A, 0x00, 0x00, 0x01, 0x42]) -> [UInt8] {
        var w = BitWriter()
        w.ue(firstMB); w.ue(sliceType); w.ue(0); w.u(4, 0)
        w.trailing()
        return [UInt8(refIdc << 5 | nalType)] + escape(w.bytes + body)
    }

    /// An SEI NAL unit holding the given messages (type, payload), in order.
    static func sei(_ messages: [(Int, [UInt8])]) -> [UInt8] {
        var rbsp: [UInt8] = []
        for (type, payload) in messages {
            var t = type
            while t >= 255 { rbsp.append(0xFF); t -= 255 }
            rbsp.append(UInt8(t))
            var s = payload.count
            while s >= 255 { rbsp.append(0xFF); s -= 255 }
            rbsp.append(UInt8(s))
            rbsp += payload
        }
        rbsp.append(0x80)
        return [0x06] + escape(rbsp)
    }

    /// recovery_point payload: recovery_frame_cnt, exact_match 1, broken_link 0, changing_slice_group_idc 0.
    static func recoveryPoint(_ count: Int) -> [UInt8] {
        var w = BitWriter()
        w.ue(count); w.bit(1); w.bit(0); w.u(2, 0)
        w.trailing()
        return w.bytes
    }

    /// A caption-like payload full of zero runs, so the NAL unit needs emulation prevention.
    /// (Two emulation-prevention bytes; a reader that kept them would read 0x10 0x20 as the next
    /// message's type and size.)
    static let captionPayload: [UInt8] = [0xB5, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x31,
                                          0x47, 0x41, 0x39, 0x34, 0x10, 0x20]
    static func captionSEI() -> [UInt8] { sei([(4, captionPayload)]) }

    /// Baseline SPS: id, and `width` (in macroblocks) to make sets with one id differ.
    /// `pocType` 0 comes with 6-bit pic_order_cnt_lsb; frame_num is 4 bits.
    static func sps(id: Int, width: Int = 19, pocType: Int = 2) -> [UInt8] {
        var w = BitWriter()
        w.byte(66); w.byte(0xC0); w.byte(30)
        w.ue(id)
        w.ue(0)          // log2_max_frame_num_minus4
        w.ue(pocType)    // pic_order_cnt_type
        if pocType == 0 { w.ue(2) }   // log2_max_pic_order_cnt_lsb_minus4
        w.ue(1)          // max_num_ref_frames
        w.bit(0)         // gaps_in_frame_num_value_allowed_flag
        w.ue(width)      // pic_width_in_mbs_minus1
        w.ue(14)         // pic_height_in_map_units_minus1
        w.bit(1); w.bit(1); w.bit(0); w.bit(0)
        w.trailing()
        return [0x67] + escape(w.bytes)
    }

    static func pps(id: Int, sps: Int, variant: Int = 0, cabac: Bool = false, deblockingControl: Bool = true) -> [UInt8] {
        var w = BitWriter()
        w.ue(id); w.ue(sps)
        w.bit(cabac ? 1 : 0); w.bit(0); w.ue(0)
        w.ue(variant); w.ue(0)   // num_ref_idx_l0/l1_default_active_minus1
        w.bit(0); w.u(2, 0)
        w.ue(0); w.ue(0); w.ue(0) // pic_init_qp/qs_minus26 (se 0 = ue 0), chroma_qp_index_offset
        w.bit(deblockingControl ? 1 : 0); w.bit(0); w.bit(0)
        w.trailing()
        return [0x68] + escape(w.bytes)
    }

    /// avcC with the given sets, 4-byte lengths, and an optional tail (High-profile fields).
    static func avcC(sps: [[UInt8]], pps: [[UInt8]], lengthSize: Int = 4, tail: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = [1, 66, 0xC0, 30, 0xFC | UInt8(lengthSize - 1), 0xE0 | UInt8(sps.count)]
        for s in sps { out += [UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s }
        out.append(UInt8(pps.count))
        for p in pps { out += [UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        return out + tail
    }
}

// MARK: HEVC NAL units

private enum HEVC {
    static func header(_ type: Int) -> [UInt8] { [UInt8(type << 1), 0x01] }
    static func slice(_ type: Int) -> [UInt8] { header(type) + [0xAF, 0x09, 0x40, 0x00, 0x00, 0x03, 0x01] }
    static let aud: [UInt8] = header(35) + [0x50]
    static func sei() -> [UInt8] { header(39) + [0x05, 0x04, 0x11, 0x22, 0x33, 0x44, 0x80] }

    static func vps(id: Int) -> [UInt8] {
        var w = BitWriter()
        w.u(4, id); w.u(2, 3); w.u(6, 0); w.u(3, 0); w.bit(1); w.u(16, 0xFFFF)
        w.u(32, 0x01600000); w.u(32, 0x00900000); w.u(32, 0x0000005D)   // profile_tier_level, 96 bits
        w.trailing()
        return header(32) + escape(w.bytes)
    }

    /// An SPS with sub-layers (so the id sits behind a variable-length profile_tier_level).
    static func sps(id: Int, vps: Int, subLayers: Int = 0, width: Int = 320) -> [UInt8] {
        var w = BitWriter()
        w.u(4, vps); w.u(3, subLayers); w.bit(1)
        w.u(32, 0x01600000); w.u(32, 0x00900000); w.u(32, 0x0000005D)   // general PTL, 96 bits
        // sub_layer_profile_present / sub_layer_level_present: (1,1), (0,1), (0,1)…
        for i in 0..<subLayers { w.bit(i == 0 ? 1 : 0); w.bit(1) }
        if subLayers > 0 { w.u(2 * (8 - subLayers), 0) }
        for i in 0..<subLayers {
            if i == 0 { w.u(32, 0x7FFFFFFF); w.u(32, 0x7FFFFFFF); w.u(24, 0x7FFFFF) }  // 88 bits
            w.u(8, 0x5A)
        }
        w.ue(id); w.ue(1); w.ue(width); w.ue(240)
        w.trailing()
        return header(33) + escape(w.bytes)
    }

    static func pps(id: Int, sps: Int) -> [UInt8] {
        var w = BitWriter()
        w.ue(id); w.ue(sps); w.bit(0); w.bit(0); w.u(3, 0)
        w.trailing()
        return header(34) + escape(w.bytes)
    }

    static func hvcC(_ arrays: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5D, 0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F]
        out.append(UInt8(arrays.count))
        for nal in arrays {
            out += [0x80 | ((nal[0] >> 1) & 0x3F), 0, 1, UInt8(nal.count >> 8), UInt8(nal.count & 0xFF)] + nal
        }
        return out
    }
}

// MARK: Packets

private func lengthPrefixed(_ units: [[UInt8]], size: Int = 4) -> [UInt8] {
    var out: [UInt8] = []
    for u in units {
        for k in stride(from: size - 1, through: 0, by: -1) { out.append(UInt8((u.count >> (8 * k)) & 0xFF)) }
        out += u
    }
    return out
}

private func annexB(_ units: [[UInt8]], fourByte: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    for u in units { out += (fourByte ? [0, 0, 0, 1] : [0, 0, 1]) + u }
    return out
}

private func units(_ data: [UInt8], _ framing: NALFraming) -> [[UInt8]] {
    LibNALUnits.split(data, framing: framing).map { Array(data[$0.start..<($0.start + $0.length)]) }
}

private func kind(_ data: [UInt8], _ framing: NALFraming, hevc: Bool = false) -> AccessUnitKind {
    AccessUnitClassifier.classify(data, framing: framing, isHEVC: hevc)
}

private func indexFlags(_ data: [UInt8], _ framing: NALFraming, hevc: Bool = false) -> UInt8 {
    data.withUnsafeBufferPointer { PacketIndexer.classify($0, framing: framing, isHEVC: hevc) }
}

final class CodecsTests: XCTestCase {
    // MARK: NAL splitting

    func testLengthPrefixedSplitWithOneTwoAndFourByteLengths() {
        let a: [UInt8] = [0x09, 0xF0], b: [UInt8] = [0x65, 0x88, 0x84, 0x00], c = [UInt8](repeating: 0x41, count: 200)
        for size in [1, 2, 4] {
            let data = lengthPrefixed([a, b, c], size: size)
            XCTAssertEqual(units(data, .lengthPrefixed(size)), [a, b, c], "length size \(size)")
        }
        // Exact ranges for 2-byte lengths: [00 02] a [00 04] b …
        XCTAssertEqual(LibNALUnits.split(lengthPrefixed([a, b], size: 2), framing: .lengthPrefixed(2)),
                       [NALUnitRange(start: 2, length: 2), NALUnitRange(start: 6, length: 4)])
    }

    func testLengthPrefixedSplitStopsAtTruncatedLengthAndSkipsEmptyUnits() {
        let a: [UInt8] = [0x09, 0xF0], b: [UInt8] = [0x41, 0x9A]
        // A zero-length unit between a and b is skipped.
        XCTAssertEqual(units(lengthPrefixed([a]) + [0, 0, 0, 0] + lengthPrefixed([b]), .lengthPrefixed(4)), [a, b])
        // The last unit claims 9 bytes but 2 remain: it is left out, the earlier one kept.
        XCTAssertEqual(units(lengthPrefixed([a]) + [0, 0, 0, 9, 0x41, 0x9A], .lengthPrefixed(4)), [a])
        // A length field cut short.
        XCTAssertEqual(units(lengthPrefixed([a]) + [0, 0], .lengthPrefixed(4)), [a])
        XCTAssertEqual(units([], .lengthPrefixed(4)), [])
    }

    func testAnnexBSplitWithThreeAndFourByteStartCodesAndTrailingZeros() {
        let a: [UInt8] = [0x09, 0xF0], b: [UInt8] = [0x67, 0x42, 0x00, 0x1E], c: [UInt8] = [0x65, 0x88, 0x80]
        // Mixed start codes; the zero before a 4-byte start code and the zeros at the end are
        // trailing zeros, not part of the unit before them.
        let data: [UInt8] = [0, 0, 0, 1] + a + [0, 0, 1] + b + [0, 0, 0, 1] + c + [0, 0, 0, 0]
        XCTAssertEqual(units(data, .annexB), [a, b, c])
        XCTAssertEqual(LibNALUnits.split(data, framing: .annexB),
                       [NALUnitRange(start: 4, length: 2), NALUnitRange(start: 9, length: 4), NALUnitRange(start: 17, length: 3)])
        // Bytes before the first start code are not a unit; an empty unit (start code right after
        // start code) is skipped.
        let messy: [UInt8] = [0xFF, 0x12] + [0, 0, 1] + [0, 0, 1] + c
        XCTAssertEqual(units(messy, .annexB), [c])
        XCTAssertEqual(units([], .annexB), [])
        XCTAssertEqual(units([0, 0, 0, 1], .annexB), [])
        XCTAssertEqual(units([0x65, 0x88], .annexB), [])
    }

    func testIteratorSkipsMeasuringUnitsItIsToldNotTo() {
        let slice = H264.slice(nalType: 5, sliceType: 7)
        let data = annexB([H264.aud, H264.captionSEI(), slice, H264.slice(nalType: 5, firstMB: 40, sliceType: 7)])
        data.withUnsafeBufferPointer { buf in
            var it = NALUnitIterator(buf, framing: .annexB)
            var seen: [NALUnitRange] = []
            while let r = it.next(measuring: { !H264NAL.isVCL(H264NAL.type($0)) }) { seen.append(r) }
            XCTAssertEqual(seen.count, 3)
            // The first slice runs to the buffer's end, and the walk stops there.
            XCTAssertEqual(seen.last, NALUnitRange(start: 4 + 2 + 4 + H264.captionSEI().count + 4, length: data.count - (14 + H264.captionSEI().count)))
        }
    }

    // MARK: Classification

    func testIDRBehindAUDAndTwelveSEIIsADecodeAndCopyStart() {
        let au = [H264.aud] + Array(repeating: H264.captionSEI(), count: 12) + [H264.slice(nalType: 5, sliceType: 7)]
        for framing in [NALFraming.lengthPrefixed(4), .annexB] {
            let data = framing == .annexB ? annexB(au) : lengthPrefixed(au)
            XCTAssertEqual(kind(data, framing), [.decodeStart, .cleanStart], "\(framing)")
            XCTAssertEqual(indexFlags(data, framing), IndexedPacket.decodeStart | IndexedPacket.copyStart, "\(framing)")
        }
    }

    func testMultiSliceIDRAndPSlices() {
        let idr = [H264.aud] + (0..<4).map { H264.slice(nalType: 5, firstMB: $0 * 30, sliceType: 2) }
        XCTAssertEqual(kind(lengthPrefixed(idr), .lengthPrefixed(4)), [.decodeStart, .cleanStart])
        XCTAssertEqual(kind(annexB(idr, fourByte: false), .annexB), [.decodeStart, .cleanStart])
        let p = [H264.aud, H264.captionSEI(), H264.slice(sliceType: 5), H264.slice(firstMB: 30, sliceType: 5)]
        XCTAssertEqual(kind(lengthPrefixed(p), .lengthPrefixed(4)), [])
        XCTAssertEqual(indexFlags(annexB(p), .annexB), 0)
    }

    func testNonIDRIWithRecoveryPointSEIIsADecodeStart() {
        // The caption message before the recovery point needs emulation prevention: its size
        // counts RBSP bytes, so a reader that kept the 0x03 bytes would miss the recovery point.
        let sei = H264.sei([(4, H264.captionPayload), (6, H264.recoveryPoint(0))])
        XCTAssertEqual(sei.count, 1 + (2 + 14 + 2) + 3 + 1, "the test SEI needs two emulation-prevention bytes")
        let au = [H264.aud, H264.captionSEI(), sei, H264.slice(sliceType: 7)]
        for framing in [NALFraming.lengthPrefixed(4), .annexB] {
            let data = framing == .annexB ? annexB(au) : lengthPrefixed(au)
            XCTAssertEqual(kind(data, framing), [.decodeStart, .recoveryPoint], "\(framing)")
            // Not a copy start by itself: the look-ahead decides.
            XCTAssertEqual(indexFlags(data, framing), IndexedPacket.decodeStart, "\(framing)")
        }
        // Several slices, all I (slice_type 2): still a recovery point.
        let multi = [H264.aud, sei, H264.slice(sliceType: 2), H264.slice(firstMB: 40, sliceType: 2)]
        XCTAssertEqual(kind(lengthPrefixed(multi), .lengthPrefixed(4)), [.decodeStart, .recoveryPoint])
    }

    func testIPicturesWithoutAUsableRecoveryPointAreNotDecodeStarts() {
        let rp0 = H264.sei([(6, H264.recoveryPoint(0))])
        // A plain non-IDR I picture: later pictures may refer to earlier ones.
        XCTAssertEqual(kind(lengthPrefixed([H264.aud, H264.slice(sliceType: 7)]), .lengthPrefixed(4)), [])
        // recovery_frame_cnt 3: correct only three frames later (gradual refresh).
        XCTAssertEqual(kind(lengthPrefixed([H264.sei([(6, H264.recoveryPoint(3))]), H264.slice(sliceType: 7)]), .lengthPrefixed(4)), [])
        // A P picture with a recovery point SEI (intra refresh).
        XCTAssertEqual(kind(lengthPrefixed([rp0, H264.slice(sliceType: 5)]), .lengthPrefixed(4)), [])
        // First slice I, second P.
        XCTAssertEqual(kind(annexB([rp0, H264.slice(sliceType: 2), H264.slice(firstMB: 40, sliceType: 0)]), .annexB), [])
    }

    func testHEVCPictureTypes() {
        let lead = [HEVC.aud] + Array(repeating: HEVC.sei(), count: 12)
        func k(_ type: Int) -> AccessUnitKind { kind(lengthPrefixed(lead + [HEVC.slice(type), HEVC.slice(type)]), .lengthPrefixed(4), hevc: true) }
        XCTAssertEqual(k(HEVCNAL.idrWRADL), [.decodeStart, .cleanStart])
        XCTAssertEqual(k(HEVCNAL.idrNLP), [.decodeStart, .cleanStart])
        XCTAssertEqual(k(HEVCNAL.blaNLP), [.decodeStart, .cleanStart])
        XCTAssertEqual(k(HEVCNAL.blaWLP), .decodeStart)
        XCTAssertEqual(k(HEVCNAL.cra), .decodeStart)
        XCTAssertEqual(k(HEVCNAL.raslN), .leading)
        XCTAssertEqual(k(HEVCNAL.raslR), .leading)
        XCTAssertEqual(k(1), [])
        XCTAssertEqual(kind(annexB(lead + [HEVC.slice(HEVCNAL.cra)]), .annexB, hevc: true), .decodeStart)
        XCTAssertEqual(indexFlags(annexB(lead + [HEVC.slice(HEVCNAL.raslN)]), .annexB, hevc: true), IndexedPacket.leading)
        XCTAssertEqual(indexFlags(annexB(lead + [HEVC.slice(HEVCNAL.idrNLP)]), .annexB, hevc: true),
                       IndexedPacket.decodeStart | IndexedPacket.copyStart)
    }

    /// H.264 open GOP: a recovery-point I picture (pts 9) followed in decode order by two B
    /// pictures presented before it: they become leading and the I picture no copy start. A
    /// second one (pts 13) whose B pictures all follow it is a clean copy start.
    func testRecoveryPointLookAheadMarksLeadingPictures() {
        let d = IndexedPacket.decodeStart, c = IndexedPacket.copyStart
        let layout: [(Int64, UInt8)] = [(0, d | c), (3, 0), (1, 0), (2, 0), (6, 0), (4, 0), (5, 0),
                                        (9, d), (7, 0), (8, 0), (12, 0), (10, 0), (11, 0),
                                        (13, d), (16, 0), (14, 0), (15, 0), (17, 0)]
        var packets = layout.enumerated().map { i, p in
            IndexedPacket(pts: p.0, dts: Int64(i) - 2, duration: 1, position: Int64(i * 100), size: 100, flags: p.1)
        }
        PacketIndexer.markCleanCRAs(&packets, isHEVC: false)
        XCTAssertEqual(packets.indices.filter { packets[$0].isLeading }, [8, 9])
        XCTAssertEqual(packets.indices.filter { packets[$0].isCopyStart }, [0, 13])
        XCTAssertEqual(packets.indices.filter { packets[$0].isDecodeStart }, [0, 7, 13])

        // The planner may start the first copied GOP at the recovery point, dropping its leading
        // pictures (the head re-encodes their slots); `relabelAsBLA` is then set, which the
        // adapter ignores for H.264.
        let planner = CutPlanner(packets: packets, timeBase: TimeBase(1, 30), origin: 0)
        let plan = try? planner.plan(RangeRequest(from: .frame(5), to: .frame(15)), mode: .smart)
        XCTAssertEqual(plan?.copy?.packets, 7..<13)
        XCTAssertEqual(plan?.copy?.dropped, [8, 9])
        XCTAssertEqual(plan?.copy?.relabelAsBLA, 7)
        XCTAssertEqual(plan?.head?.keep, 5..<9)
        XCTAssertEqual(plan?.head?.decode, 0..<10)
    }

    /// The HEVC look-ahead keeps its behaviour: a CRA with RASL pictures is no copy start; one
    /// with none is.
    func testCRALookAheadUnchanged() {
        let d = IndexedPacket.decodeStart, c = IndexedPacket.copyStart, l = IndexedPacket.leading
        let layout: [(Int64, UInt8)] = [(0, d | c), (1, 0), (2, 0), (5, d), (3, l), (4, l), (6, 0), (8, d), (9, 0)]
        var packets = layout.enumerated().map { i, p in
            IndexedPacket(pts: p.0, dts: Int64(i), duration: 1, position: Int64(i), size: 1, flags: p.1)
        }
        PacketIndexer.markCleanCRAs(&packets, isHEVC: true)
        XCTAssertEqual(packets.indices.filter { packets[$0].isCopyStart }, [0, 7])
        XCTAssertEqual(packets.indices.filter { packets[$0].isLeading }, [4, 5])
    }

    /// The scan classifies ~324,000 packets of a 3-hour file: the classifier must not allocate.
    func testClassifyingManyPacketsIsFast() {
        let p = lengthPrefixed([H264.aud, H264.captionSEI(), H264.captionSEI(), H264.slice(sliceType: 5, body: [UInt8](repeating: 0x5A, count: 3000))])
        let start = Date()
        var n = 0
        p.withUnsafeBufferPointer { buf in
            for _ in 0..<324_000 where !AccessUnitClassifier.classify(buf, framing: .lengthPrefixed(4), isHEVC: false).isEmpty { n += 1 }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(n, 0)
        print("classified 324,000 packets in \(String(format: "%.3f", elapsed)) s")
        XCTAssertLessThan(elapsed, 3.0)
    }

    // MARK: Parameter sets

    func testTypedParameterSetIDs() {
        XCTAssertEqual(ParameterSets.h264SPSID(H264.sps(id: 5)), 5)
        XCTAssertEqual(ParameterSets.h264SPSID(H264.sps(id: 31)), 31)
        let pps = ParameterSets.h264PPSIDs(H264.pps(id: 200, sps: 5))
        XCTAssertEqual(pps?.pps, 200); XCTAssertEqual(pps?.sps, 5)
        XCTAssertNil(ParameterSets.h264PPSIDs(H264.sps(id: 1)))

        XCTAssertEqual(ParameterSets.hevcVPSID(HEVC.vps(id: 2)), 2)
        for subLayers in [0, 1, 2] {
            let ids = ParameterSets.hevcSPSIDs(HEVC.sps(id: 11, vps: 2, subLayers: subLayers))
            XCTAssertEqual(ids?.sps, 11, "sub-layers \(subLayers)"); XCTAssertEqual(ids?.vps, 2)
        }
        let hp = ParameterSets.hevcPPSIDs(HEVC.pps(id: 7, sps: 11))
        XCTAssertEqual(hp?.pps, 7); XCTAssertEqual(hp?.sps, 11)

        let sets = ParameterSets(extradata: HEVC.hvcC([HEVC.vps(id: 2), HEVC.sps(id: 3, vps: 2, subLayers: 1), HEVC.pps(id: 4, sps: 3)]), isHEVC: true)
        XCTAssertEqual(sets.all.compactMap { sets.id(of: $0) }, [.init(.vps, 2), .init(.sps, 3), .init(.pps, 4)])
        XCTAssertEqual(sets.vpsIDs, [2]); XCTAssertEqual(sets.spsIDs, [3]); XCTAssertEqual(sets.ppsIDs, [4])
    }

    func testSameIDDifferentBytesConflicts() {
        let a = ParameterSets(extradata: H264.avcC(sps: [H264.sps(id: 0, width: 19)], pps: [H264.pps(id: 0, sps: 0)]), isHEVC: false)
        let sameIDOtherSize = ParameterSets(extradata: H264.avcC(sps: [H264.sps(id: 0, width: 39)], pps: [H264.pps(id: 0, sps: 0)]), isHEVC: false)
        let otherPPS = ParameterSets(extradata: H264.avcC(sps: [H264.sps(id: 0, width: 19)], pps: [H264.pps(id: 0, sps: 0, variant: 2)]), isHEVC: false)
        let ownIDs = ParameterSets(extradata: H264.avcC(sps: [H264.sps(id: 1, width: 39)], pps: [H264.pps(id: 1, sps: 1)]), isHEVC: false)
        var identical = ParameterSets(isHEVC: false)
        identical.add(H264.sps(id: 0, width: 19) + [0, 0])  // trailing zero bytes don't make it another set
        identical.add(H264.pps(id: 0, sps: 0))
        XCTAssertTrue(a.conflicts(with: sameIDOtherSize))
        XCTAssertTrue(a.conflicts(with: otherPPS))
        XCTAssertFalse(a.conflicts(with: ownIDs))
        XCTAssertFalse(a.conflicts(with: identical))
        XCTAssertFalse(a.conflicts(with: a))
        XCTAssertNil(a.merging(sameIDOtherSize))
        XCTAssertEqual(a.merging(identical)?.all, a.all)
        XCTAssertEqual(a.merging(ownIDs)?.all.count, 4)

        // HEVC: same VPS id, different VPS.
        let h1 = ParameterSets(extradata: HEVC.hvcC([HEVC.vps(id: 0), HEVC.sps(id: 0, vps: 0), HEVC.pps(id: 0, sps: 0)]), isHEVC: true)
        let h2 = ParameterSets(extradata: HEVC.hvcC([HEVC.vps(id: 0), HEVC.sps(id: 0, vps: 0, width: 640), HEVC.pps(id: 0, sps: 0)]), isHEVC: true)
        XCTAssertTrue(h1.conflicts(with: h2))
        XCTAssertFalse(h1.conflicts(with: h1))
    }

    func testIdenticalSetsCollapseAndInBandSetsAreCollected() {
        let sps = H264.sps(id: 0), pps = H264.pps(id: 0, sps: 0)
        let sets = ParameterSets(extradata: H264.avcC(sps: [sps, sps], pps: [pps, pps]), isHEVC: false)
        XCTAssertEqual(sets.sps, [sps]); XCTAssertEqual(sets.pps, [pps])

        var inBand = ParameterSets(isHEVC: false)
        let packet = lengthPrefixed([H264.aud, H264.sps(id: 2), H264.pps(id: 2, sps: 2), H264.pps(id: 3, sps: 2), H264.slice(nalType: 5, sliceType: 7)])
        packet.withUnsafeBufferPointer { inBand.collect(from: $0, framing: .lengthPrefixed(4)) }
        packet.withUnsafeBufferPointer { inBand.collect(from: $0, framing: .lengthPrefixed(4)) }
        XCTAssertEqual(inBand.spsIDs, [2]); XCTAssertEqual(inBand.ppsIDs, [2, 3])
        XCTAssertEqual(inBand.pps.count, 2)
        XCTAssertTrue(sets.merging(inBand)?.hasConflicts == false)
    }

    func testUnusedH264IDAvoidsSPSAndPPSIds() {
        // SPS 0 with PPS 0, 1, 2: id 1 is free as SPS id but not as PPS id.
        let sets = ParameterSets(extradata: H264.avcC(sps: [H264.sps(id: 0)],
                                                      pps: [H264.pps(id: 0, sps: 0), H264.pps(id: 1, sps: 0), H264.pps(id: 2, sps: 0, variant: 1)]),
                                 isHEVC: false)
        XCTAssertEqual(sets.unusedH264ID(), 3)
        // In-band sets seen after a reconnect take 3 and 4 too.
        var inBand = ParameterSets(isHEVC: false)
        inBand.add(H264.sps(id: 3)); inBand.add(H264.pps(id: 4, sps: 3))
        XCTAssertEqual(sets.unusedH264ID(avoiding: [inBand]), 5)
        XCTAssertEqual(ParameterSets(isHEVC: false).unusedH264ID(), 0)
    }

    func testMergedAVCCListsEveryDistinctSetOnce() {
        let sps0 = H264.sps(id: 0), pps0 = H264.pps(id: 0, sps: 0), pps1 = H264.pps(id: 1, sps: 0)
        let tail: [UInt8] = [0xFD, 0xF8, 0xF8, 0x00]
        let source = H264.avcC(sps: [sps0], pps: [pps0, pps1], tail: tail)
        var extra = ParameterSets(isHEVC: false)
        let sps2 = H264.sps(id: 2, width: 39), pps2 = H264.pps(id: 2, sps: 2)
        extra.add(sps2); extra.add(pps2); extra.add(sps0)   // an identical copy of the source's SPS collapses
        let merged = ParameterSets.mergedAVCC(source: source, adding: extra)
        let expected = H264.avcC(sps: [sps0, sps2], pps: [pps0, pps1, pps2], tail: tail)
        XCTAssertEqual(merged, expected)

        // A new set reusing a source id with other bytes: refused, never two sets under one id.
        var clash = ParameterSets(isHEVC: false)
        clash.add(H264.sps(id: 0, width: 39)); clash.add(H264.pps(id: 3, sps: 0))
        XCTAssertNil(ParameterSets.mergedAVCC(source: source, adding: clash))
        var ppsClash = ParameterSets(isHEVC: false)
        ppsClash.add(H264.pps(id: 1, sps: 0, variant: 3))
        XCTAssertNil(ParameterSets.mergedAVCC(source: source, adding: ppsClash))
    }

    // MARK: Bitstream adapter

    func testAdapterConvertsAVCCToAnnexBAndPutsSetsBeforeKeyframes() throws {
        let sps = H264.sps(id: 0), pps = H264.pps(id: 0, sps: 0)
        let adapter = BitstreamAdapter(isH264: true, isHEVC: false, extradata: H264.avcC(sps: [sps], pps: [pps]), outputIsAnnexB: true)
        let idr = H264.slice(nalType: 5, sliceType: 7), p = H264.slice(sliceType: 5)
        XCTAssertEqual(adapter.adapt(lengthPrefixed([H264.aud, idr]), keyframe: true, afterReencoded: false),
                       [0, 0, 0, 1] + H264.aud + [0, 0, 0, 1] + sps + [0, 0, 0, 1] + pps + [0, 0, 0, 1] + idr)
        XCTAssertEqual(adapter.adapt(lengthPrefixed([p]), keyframe: false, afterReencoded: true), [0, 0, 0, 1] + p)
        // A keyframe that already carries its SPS gets no second copy.
        XCTAssertEqual(adapter.adapt(lengthPrefixed([sps, pps, idr]), keyframe: true, afterReencoded: false),
                       annexB([sps, pps, idr]))
        // 2-byte length prefixes are read as such.
        let small = BitstreamAdapter(isH264: true, isHEVC: false, extradata: H264.avcC(sps: [sps], pps: [pps], lengthSize: 2), outputIsAnnexB: true)
        XCTAssertEqual(small.adapt(lengthPrefixed([p], size: 2), keyframe: false, afterReencoded: false), [0, 0, 0, 1] + p)
    }

    func testAdapterResendsHEVCSetsAfterReencodedFramesAndRelabelsOnlyHEVC() throws {
        let vps = HEVC.vps(id: 0), sps = HEVC.sps(id: 0, vps: 0), pps = HEVC.pps(id: 0, sps: 0)
        let hevc = BitstreamAdapter(isH264: false, isHEVC: true, extradata: HEVC.hvcC([vps, sps, pps]), outputIsAnnexB: false)
        let cra = HEVC.slice(HEVCNAL.cra)
        // MP4 → MP4: untouched, unless re-encoded frames came before (their sets share the source's ids).
        XCTAssertNil(hevc.adapt(lengthPrefixed([cra]), keyframe: true, afterReencoded: false))
        XCTAssertEqual(hevc.adapt(lengthPrefixed([HEVC.aud, cra]), keyframe: true, afterReencoded: true),
                       lengthPrefixed([HEVC.aud, vps, sps, pps, cra]))
        // A CRA whose leading pictures were dropped becomes BLA_W_LP (type 16): 0x2A 0x01 → 0x20 0x01.
        var bla = cra; bla[0] = 0x20
        XCTAssertEqual(hevc.adapt(lengthPrefixed([cra, cra]), keyframe: true, afterReencoded: false, relabelAsBLA: true),
                       lengthPrefixed([bla, bla]))

        // H.264 has no BLA: relabelling is ignored and the packet stays byte-identical.
        let h264 = BitstreamAdapter(isH264: true, isHEVC: false,
                                    extradata: H264.avcC(sps: [H264.sps(id: 0)], pps: [H264.pps(id: 0, sps: 0)]), outputIsAnnexB: false)
        let rp = lengthPrefixed([H264.sei([(6, H264.recoveryPoint(0))]), H264.slice(sliceType: 7)])
        XCTAssertNil(h264.adapt(rp, keyframe: true, afterReencoded: true, relabelAsBLA: true))
        XCTAssertNil(h264.adapt(rp, keyframe: true, afterReencoded: false, relabelAsBLA: false))
    }

    func testAdapterRewritesEncoderAnnexBToLengthPrefixes() {
        let adapter = BitstreamAdapter(isH264: true, isHEVC: false,
                                       extradata: H264.avcC(sps: [H264.sps(id: 0)], pps: [H264.pps(id: 0, sps: 0)]), outputIsAnnexB: false)
        let sps = H264.sps(id: 1), pps = H264.pps(id: 1, sps: 1), idr = H264.slice(nalType: 5, sliceType: 7)
        let encoder: [UInt8] = [0, 0, 0, 1] + sps + [0, 0, 1] + pps + [0, 0, 1] + idr
        XCTAssertEqual(adapter.encodedPayload(encoder), lengthPrefixed([sps, pps, idr]))
        let ts = BitstreamAdapter(isH264: true, isHEVC: false, extradata: [], outputIsAnnexB: true)
        XCTAssertNil(ts.encodedPayload(encoder))
    }

    // MARK: Recovery points rewritten as IDR

    /// The slice header fields up to dec_ref_pic_marking of a frame slice under `H264.sps(pocType: 0)`.
    private func header(_ w: inout BitWriter, sliceType: Int, frameNum: Int, pocLsb: Int, idrPicID: Int? = nil) {
        w.ue(0); w.ue(sliceType); w.ue(0)
        w.u(4, frameNum)
        if let idrPicID { w.ue(idrPicID) }
        w.u(6, pocLsb)
    }

    /// Slice data after the header: qp delta, deblocking fields, some bits (CAVLC) or aligned bytes (CABAC).
    private func tail(_ w: inout BitWriter, cabac: Bool, pSlice: Bool = false) {
        if cabac && pSlice { w.ue(1) }          // cabac_init_idc
        w.se(-3)                                // slice_qp_delta
        w.ue(0); w.se(1); w.se(-1)              // disable_deblocking_filter_idc, alpha, beta
        if cabac {
            while w.bitCount % 8 != 0 { w.bit(1) }   // cabac_alignment_one_bit
            for b: UInt8 in [0x8C, 0x00, 0x00, 0x01, 0x7E, 0x00, 0x00] { w.byte(b) }
        } else {
            w.u(13, 0x1A5B)                     // macroblock layer bits
            w.trailing()
        }
    }

    private func recoverySlice(cabac: Bool, frameNum: Int = 5, pocLsb: Int = 20) -> [UInt8] {
        var w = BitWriter()
        header(&w, sliceType: 7, frameNum: frameNum, pocLsb: pocLsb)
        w.bit(1); w.ue(1); w.ue(2); w.ue(0)     // adaptive marking: unmark picNum −3, end
        tail(&w, cabac: cabac)
        return [0x41] + escape(w.bytes)         // nal_ref_idc 2, non-IDR slice
    }

    private func context(cabac: Bool) -> H264IDRRewriter.Context {
        var sets = ParameterSets(isHEVC: false)
        sets.add(H264.sps(id: 0, pocType: 0)); sets.add(H264.pps(id: 0, sps: 0, cabac: cabac))
        return H264IDRRewriter.Context(sets)
    }

    func testRecoveryPointSliceBecomesIDR() {
        for cabac in [false, true] {
            var w = BitWriter()
            header(&w, sliceType: 7, frameNum: 0, pocLsb: 0, idrPicID: 1)
            w.bit(0); w.bit(0)                  // no_output_of_prior_pics_flag, long_term_reference_flag
            tail(&w, cabac: cabac)
            let expected = [0x45] + escape(w.bytes)
            XCTAssertEqual(H264IDRRewriter.idrSlice(recoverySlice(cabac: cabac)[...], context: context(cabac: cabac), idrPicID: 1),
                           expected, cabac ? "CABAC" : "CAVLC")
        }
        // A P slice, a non-reference picture, or an unknown PPS: refused.
        var p = BitWriter(); header(&p, sliceType: 5, frameNum: 5, pocLsb: 20); p.trailing()
        XCTAssertNil(H264IDRRewriter.idrSlice(([0x41] + escape(p.bytes))[...], context: context(cabac: false), idrPicID: 1))
        var nonRef = recoverySlice(cabac: false); nonRef[0] = 0x01
        XCTAssertNil(H264IDRRewriter.idrSlice(nonRef[...], context: context(cabac: false), idrPicID: 1))
        XCTAssertNil(H264IDRRewriter.idrSlice(recoverySlice(cabac: false)[...], context: H264IDRRewriter.Context(), idrPicID: 1))
    }

    func testLaterSlicesOfTheRunAreRenumbered() {
        for cabac in [false, true] {
            let ctx = context(cabac: cabac)
            var units: [ArraySlice<UInt8>] = [H264.aud[...], H264.sei([(6, H264.recoveryPoint(0))])[...], recoverySlice(cabac: cabac)[...]]
            var c = ctx
            guard let (idr, origin0) = H264IDRRewriter.idrAccessUnit(units, context: &c, idrPicID: 1) else {
                return XCTFail("not rewritten")
            }
            XCTAssertEqual(origin0, H264IDRRewriter.Origin(frameNum: 5, pocLsb: 20))
            XCTAssertEqual(idr.count, 3)
            XCTAssertEqual(Array(idr[0]), H264.aud)
            XCTAssertEqual(idr[2].first, 0x45)
            var origin = origin0

            // A reference P picture two frames on (frame_num 7 → 2, lsb 28 → 8) that unmarks
            // picNum 1 (after the IDR: kept) and picNum −4 (before it: dropped).
            var w = BitWriter()
            header(&w, sliceType: 5, frameNum: 7, pocLsb: 28)
            w.bit(0); w.bit(0)                      // num_ref_idx_active_override_flag, ref_pic_list_modification_flag_l0
            w.bit(1); w.ue(1); w.ue(0); w.ue(1); w.ue(5); w.ue(0)
            tail(&w, cabac: cabac, pSlice: true)
            units = [([0x41] + escape(w.bytes))[...]]
            var e = BitWriter()
            header(&e, sliceType: 5, frameNum: 2, pocLsb: 8)
            e.bit(0); e.bit(0)
            e.bit(1); e.ue(1); e.ue(0); e.ue(0)
            tail(&e, cabac: cabac, pSlice: true)
            XCTAssertEqual(H264IDRRewriter.renumberAccessUnit(units, context: &c, from: &origin)?.map(Array.init),
                           [[0x41] + escape(e.bytes)], cabac ? "CABAC" : "CAVLC")

            // A non-reference B picture: only frame_num and lsb move (8 → 3, 24 → 4).
            var b = BitWriter(); header(&b, sliceType: 6, frameNum: 8, pocLsb: 24); b.u(9, 0x155); b.trailing()
            var eb = BitWriter(); header(&eb, sliceType: 6, frameNum: 3, pocLsb: 4); eb.u(9, 0x155); eb.trailing()
            XCTAssertEqual(H264IDRRewriter.renumberAccessUnit([([0x01] + escape(b.bytes))[...]], context: &c, from: &origin)?.map(Array.init),
                           [[0x01] + escape(eb.bytes)])
            // An IDR ends the run.
            XCTAssertNil(H264IDRRewriter.renumberAccessUnit([H264.slice(nalType: 5, sliceType: 7)[...]], context: &c, from: &origin))
        }
    }

    /// The adapter rewrites a recovery point that starts a copied run (here after re-encoded
    /// frames), renumbers the run's later pictures, and leaves everything alone from the next IDR.
    func testAdapterRewritesRecoveryPointStartingARun() {
        let sps = H264.sps(id: 0, pocType: 0), pps = H264.pps(id: 0, sps: 0)
        let adapter = BitstreamAdapter(isH264: true, isHEVC: false, extradata: H264.avcC(sps: [sps], pps: [pps]), outputIsAnnexB: false)
        let rp = lengthPrefixed([H264.sei([(6, H264.recoveryPoint(0))]), recoverySlice(cabac: false)])
        // Mid-run (after another copied packet, no relabel): untouched.
        XCTAssertNil(adapter.adapt(rp, keyframe: true, afterReencoded: false, startsRun: false))
        guard let out = adapter.adapt(rp, keyframe: true, afterReencoded: true, startsRun: true) else { return XCTFail("not rewritten") }
        let outUnits = units(out, .lengthPrefixed(4))
        XCTAssertEqual(outUnits.map { H264NAL.type($0[0]) }, [6, 5])
        var b = BitWriter(); header(&b, sliceType: 6, frameNum: 6, pocLsb: 22); b.u(9, 0x155); b.trailing()
        var eb = BitWriter(); header(&eb, sliceType: 6, frameNum: 1, pocLsb: 2); eb.u(9, 0x155); eb.trailing()
        XCTAssertEqual(adapter.adapt(lengthPrefixed([[0x01] + escape(b.bytes)]), keyframe: false, afterReencoded: false),
                       lengthPrefixed([[0x01] + escape(eb.bytes)]))
        XCTAssertNil(adapter.adapt(lengthPrefixed([H264.slice(nalType: 5, sliceType: 7)]), keyframe: true, afterReencoded: false))
        XCTAssertNil(adapter.adapt(lengthPrefixed([[0x01] + escape(b.bytes)]), keyframe: false, afterReencoded: false))
    }

    /// x264 open GOP (non-IDR I pictures with recovery points, leading B pictures): the index finds
    /// the recovery points, and smart cuts from mid-GOP copy the GOPs inside, decode without
    /// errors, and every copied frame decodes to the source's pixels.
    func testX264OpenGOPSmartCut() throws {
        let dir = ScratchSpace.makeFolder("x264-open-gop")
        let source = dir.appendingPathComponent("open-gop.mp4").path
        try Subprocess.checked("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "10",
                                          "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                                          "-x264-params", "keyint=30:min-keyint=30:open-gop=1:scenecut=0:bframes=3", source])
        let demuxer = try Demuxer(path: source)
        let index = try PacketIndexer.index(path: source, demuxer: demuxer, videoStream: 0)
        let starts = index.packets.indices.filter { index.packets[$0].isDecodeStart }
        XCTAssertEqual(starts.count, 10, "one IDR and nine recovery points")
        XCTAssertEqual(index.packets.indices.filter { index.packets[$0].isCopyStart }, [0])
        XCTAssertGreaterThan(index.packets.filter(\.isLeading).count, 8)

        func md5s(_ path: String, frames: ClosedRange<Int>? = nil) throws -> [String] {
            var args = ["-v", "error", "-i", path]
            if let frames { args += ["-vf", "select='between(n,\(frames.lowerBound),\(frames.upperBound))'"] }
            args += ["-vsync", "0", "-f", "framemd5", "-"]
            let text = String(decoding: try Subprocess.checked("ffmpeg", args), as: UTF8.self)
            return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map(String.init) }
        }
        for (ext, a, b) in [("mp4", 40, 200), ("ts", 60, 200), ("mkv", 61, 250)] {
            let output = dir.appendingPathComponent("cut-\(a)-\(b).\(ext)").path
            let run = try Reprise.run(["cut", source, "-o", output, "--from", "f\(a)", "--to", "f\(b)", "--json"])
            XCTAssertEqual(run.status, 0, run.transcript)
            let copied = run.summary()?["copiedPackets"]?.double ?? 0
            XCTAssertGreaterThan(copied, 100, run.transcript)
            let errors = try Subprocess.run("ffmpeg", ["-v", "error", "-i", output, "-f", "null", "-"])
            XCTAssertEqual(errors.stderrText, "", "\(ext) [\(a), \(b)) decodes with errors")
            let want = try md5s(source, frames: a...(b - 1)), got = try md5s(output)
            XCTAssertEqual(got.count, b - a, ext)
            let same = zip(want, got).filter { $0 == $1 }.count
            XCTAssertGreaterThanOrEqual(Double(same), copied, "\(ext): copied frames must decode to the source's pixels")
        }
    }
}
