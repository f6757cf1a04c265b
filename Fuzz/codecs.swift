// Fuzz target `codecs`: NAL unit splitting and joining, NAL framing detection, parameter sets
// from avcC / hvcC / Annex B extradata and packets, the merged avcC, SPS ids and the bit reader
// (Sources/RepriseMedia/Codecs). Built against the RepriseMedia module by scripts/fuzz.sh.
//
// Input: byte 0 chooses options (bit 0: HEVC; bits 1-2: length-prefix size 1…4; bits 3-5: a split
// limit), the rest is the buffer. The same buffer goes through every parser.
import RepriseMedia

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCodecs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all = fuzzBytes(data, size)
    let (selector, payload) = fuzzSelector(all)
    let isHEVC = selector & 1 != 0
    let prefixSize = Int((selector >> 1) & 3) + 1
    let limit = Int((selector >> 3) & 7) + 1

    // 1. Splitting, on libFuzzer's exactly-sized buffer past the selector byte: every range must
    //    lie inside the buffer (callers index with them unchecked).
    if let data, size > 1 {
        let buffer = UnsafeBufferPointer(start: data + 1, count: size - 1)
        for framing in [NALFraming.annexB, .lengthPrefixed(prefixSize)] {
            for lim in [Int.max, limit] {
                let units = NALUnits.split(buffer, framing: framing, limit: lim)
                var last = -1
                for r in units {
                    precondition(r.start >= 0 && r.length > 0 && r.start + r.length <= buffer.count,
                                 "NAL range \(r) outside a \(buffer.count)-byte buffer")
                    precondition(r.start > last, "NAL ranges out of order")
                    last = r.start
                    _ = H264NAL.type(buffer[r.start]); _ = HEVCNAL.type(buffer[r.start])
                }
                precondition(lim == .max || units.count <= lim, "split returned more than its limit")
                // Joining and splitting again gives the same units (length prefixes of 4 bytes).
                if lim == .max, case .lengthPrefixed = framing {
                    let slices = units.map { Array(buffer[$0.start..<($0.start + $0.length)])[...] }
                    let joined = NALUnits.join(slices, framing: .lengthPrefixed(4))
                    let again = NALUnits.split(joined, framing: .lengthPrefixed(4))
                    precondition(again.count == units.count, "join/split round trip lost units")
                }
            }
        }
    }

    // 2. Framing detection and parameter sets from the buffer as extradata and as a packet.
    _ = NALFraming.detect(extradata: payload, isHEVC: isHEVC)
    let sets = ParameterSets(extradata: payload, isHEVC: isHEVC)
    _ = sets.all; _ = sets.isEmpty
    if !isHEVC {
        _ = sets.unusedH264ID()
        for s in sets.sps { _ = ParameterSets.h264SPSID(s) }
    }
    let inBand = ParameterSets(annexBPacket: payload, isHEVC: isHEVC)
    _ = inBand.all

    // 3. The merged avcC: the buffer as the source record, plus the sets of the same buffer
    //    read as Annex B (the re-encoded edge's sets).
    if let merged = ParameterSets.mergedAVCC(source: payload, adding: inBand) {
        let reread = ParameterSets(extradata: merged, isHEVC: false)
        precondition(reread.sps.count >= inBand.sps.count, "merged avcC lost SPS")
    }
    _ = ParameterSets.h264SPSID(payload)

    // 4. The bit reader, driven by the buffer itself: each byte is one read.
    payload.withUnsafeBufferPointer { buf in
        var reader = RBSPReader(buf, start: 0, end: buf.count)
        for op in payload.prefix(64) {
            switch op & 3 {
            case 0: _ = reader.readUE()
            case 1: _ = reader.readBits(Int(op >> 2) & 31)
            case 2: _ = reader.readBit()
            default: _ = reader.skip(Int(op >> 2))
            }
        }
    }
    return 0
}
