import CFFmpeg

/// One owned AVPacket, reused across reads (allocation on the hot path costs real time).
public final class Packet {
    public let pointer: UnsafeMutablePointer<AVPacket>

    public init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }

    public var streamIndex: Int { Int(pointer.pointee.stream_index) }
    public var pts: Int64 { get { pointer.pointee.pts } set { pointer.pointee.pts = newValue } }
    public var dts: Int64 { get { pointer.pointee.dts } set { pointer.pointee.dts = newValue } }
    public var duration: Int64 { get { pointer.pointee.duration } set { pointer.pointee.duration = newValue } }
    public var size: Int { Int(pointer.pointee.size) }
    public var position: Int64 { pointer.pointee.pos }
    public var isKey: Bool { pointer.pointee.flags & cff_pkt_flag_key() != 0 }
    public var isCorrupt: Bool { pointer.pointee.flags & cff_pkt_flag_corrupt() != 0 }
    public var isDiscard: Bool { pointer.pointee.flags & cff_pkt_flag_discard() != 0 }

    public var bytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: pointer.pointee.data, count: size)
    }

    public func unref() { av_packet_unref(pointer) }

    /// New parameter sets the demuxer attached (FLV after a reconnect: a new sequence header).
    public var newExtradata: [UInt8]? {
        var size: Int = 0
        guard let data = av_packet_get_side_data(pointer, AV_PKT_DATA_NEW_EXTRADATA, &size), size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Attaches `extradata` as new-extradata side data (a decoder opened on other sets switches to them).
    public func attachExtradata(_ extradata: [UInt8]) throws {
        guard !extradata.isEmpty, let dst = av_packet_new_side_data(pointer, AV_PKT_DATA_NEW_EXTRADATA, extradata.count) else {
            throw MediaError("side data", message: "could not attach parameter sets")
        }
        extradata.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: extradata.count) }
    }

    /// Makes this packet a new reference to `other`'s data and properties.
    public func reference(_ other: Packet) throws {
        av_packet_unref(pointer)
        try check(av_packet_ref(pointer, other.pointer), "av_packet_ref")
    }

    /// Replaces the payload with `data` (a fresh, owned buffer); keeps timestamps and flags.
    public func setPayload(_ data: [UInt8]) throws {
        let tmp = Packet()
        try check(av_new_packet(tmp.pointer, Int32(data.count)), "av_new_packet")
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { tmp.pointer.pointee.data.update(from: base, count: data.count) }
        }
        try check(av_packet_copy_props(tmp.pointer, pointer), "av_packet_copy_props")
        av_packet_unref(pointer)
        av_packet_move_ref(pointer, tmp.pointer)
    }


    /// Rescales pts, dts and duration between time bases.
    public func rescale(from: TimeBase, to: TimeBase) {
        av_packet_rescale_ts(pointer, from.rational, to.rational)
    }
}
