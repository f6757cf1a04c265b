import Foundation

/// Where a segment's opening keyframe ends, for I-frame playlists: the byte range from the
/// segment's start (fMP4: styp/moof; MPEG-TS: PAT/PMT) through the last byte of its first
/// picture, so a player can fetch and decode that picture alone.
public enum SegmentKeyframe {
    /// Length in bytes of the segment's head through its first video sample, or nil if the
    /// segment can't be read as the format says.
    public static func openingLength(of data: [UInt8], format: String) -> Int? {
        format == "ts" ? transportStream(data) : fragmentedMP4(data)
    }

    // MARK: fMP4: moof → traf → tfhd/trun give the first sample's offset and size.

    static func fragmentedMP4(_ d: [UInt8]) -> Int? {
        var offset = 0
        while let box = box(d, at: offset, end: d.count) {
            if box.type == "moof" {
                guard let (dataOffset, size) = firstSample(d, moof: box) else { return nil }
                return box.start + dataOffset + size
            }
            offset = box.start + box.size
        }
        return nil
    }

    struct Box { var type: String; var start: Int; var size: Int; var body: Int }

    static func be32(_ d: [UInt8], _ i: Int) -> Int? {
        guard i + 4 <= d.count else { return nil }
        return Int(d[i]) << 24 | Int(d[i + 1]) << 16 | Int(d[i + 2]) << 8 | Int(d[i + 3])
    }

    static func box(_ d: [UInt8], at i: Int, end: Int) -> Box? {
        guard i + 8 <= end, let size = be32(d, i), size >= 8, i + size <= end else { return nil }
        let type = String(decoding: d[(i + 4)..<(i + 8)], as: UTF8.self)
        return Box(type: type, start: i, size: size, body: i + 8)
    }

    static func children(_ d: [UInt8], of parent: Box) -> [Box] {
        var out: [Box] = []
        var i = parent.body
        while let b = box(d, at: i, end: parent.start + parent.size) { out.append(b); i = b.start + b.size }
        return out
    }

    /// (data offset from the moof's start, size) of the first sample of the first track fragment.
    static func firstSample(_ d: [UInt8], moof: Box) -> (Int, Int)? {
        guard let traf = children(d, of: moof).first(where: { $0.type == "traf" }) else { return nil }
        let boxes = children(d, of: traf)
        guard let tfhd = boxes.first(where: { $0.type == "tfhd" }), let trun = boxes.first(where: { $0.type == "trun" }),
              let tfFlags = be32(d, tfhd.body).map({ $0 & 0xFFFFFF }) else { return nil }
        // tfhd: track_ID, then optional base offset (8), sample description (4), duration (4), size (4).
        var p = tfhd.body + 8
        if tfFlags & 0x1 != 0 { p += 8 }
        if tfFlags & 0x2 != 0 { p += 4 }
        if tfFlags & 0x8 != 0 { p += 4 }
        let defaultSize = tfFlags & 0x10 != 0 ? be32(d, p) : nil
        guard let trFlags = be32(d, trun.body).map({ $0 & 0xFFFFFF }), let count = be32(d, trun.body + 4), count > 0 else { return nil }
        var q = trun.body + 8
        var dataOffset = 0
        if trFlags & 0x1 != 0 { guard let v = be32(d, q) else { return nil }; dataOffset = Int(Int32(truncatingIfNeeded: v)); q += 4 }
        if trFlags & 0x4 != 0 { q += 4 }
        if trFlags & 0x100 != 0 { q += 4 }
        let size = trFlags & 0x200 != 0 ? be32(d, q) : defaultSize
        guard let size, dataOffset > 0 else { return nil }
        return (dataOffset, size)
    }

    // MARK: MPEG-TS: the first picture ends where the video PID's second PES begins.

    static func transportStream(_ d: [UInt8]) -> Int? {
        let packet = 188
        guard d.count >= packet, d[0] == 0x47 else { return nil }
        // The video PID: the one carrying the most packets (segments of a rung carry video only,
        // beside PAT, PMT and SDT).
        var counts: [Int: Int] = [:]
        var starts: [Int: [Int]] = [:]
        var i = 0
        while i + packet <= d.count {
            guard d[i] == 0x47 else { return nil }
            let pid = (Int(d[i + 1]) & 0x1F) << 8 | Int(d[i + 2])
            counts[pid, default: 0] += 1
            if d[i + 1] & 0x40 != 0 { starts[pid, default: []].append(i) }
            i += packet
        }
        guard let video = counts.filter({ $0.key != 0 && $0.key != 0x11 }).max(by: { $0.value < $1.value })?.key,
              let pes = starts[video], !pes.isEmpty else { return nil }
        return pes.count > 1 ? pes[1] : d.count - d.count % packet
    }
}
