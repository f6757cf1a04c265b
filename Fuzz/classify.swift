// Fuzz target `classify`: the packet classifier of the packet index (PacketIndexer.classify in
// Sources/RepriseCut/PacketIndex.swift), which reads the NAL units of every video packet of an
// input to decide where decoding and copying may start.
//
// `classify` is internal, so scripts/fuzz.sh compiles this file together with the sources of
// RepriseCut into one module (no @testable, no change to the package). If the classifier is
// renamed or moved, only `classifyPacket` below needs to follow it.
//
// Input: byte 0 chooses the codec (bit 0: HEVC) and the framing (bits 1-3: 0 = Annex B,
// else length prefixes of 1…4 bytes), the rest is one packet.
import RepriseMedia

private func classifyPacket(_ packet: UnsafeBufferPointer<UInt8>, framing: NALFraming, isHEVC: Bool) -> UInt8 {
    PacketIndexer.classify(packet, framing: framing, isHEVC: isHEVC)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClassify(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let selector = data[0]
    let isHEVC = selector & 1 != 0
    let framingCode = Int((selector >> 1) & 7)
    let framing: NALFraming = framingCode == 0 ? .annexB : .lengthPrefixed((framingCode - 1) % 4 + 1)
    let packet = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let flags = classifyPacket(packet, framing: framing, isHEVC: isHEVC)
    let known = IndexedPacket.decodeStart | IndexedPacket.copyStart | IndexedPacket.leading
    precondition(flags & ~known == 0, "classify set flags it does not own: \(flags)")
    precondition(flags & IndexedPacket.copyStart == 0 || flags & IndexedPacket.decodeStart != 0,
                 "a copy start that is not a decode start")
    return 0
}
