/// fMP4 init segments (`init.mp4`) compared for a stitch. A later chunk of a ladder rung is
/// muxed as a continuation (its first fragment's decode time is not 0), so libavformat's movenc
/// writes its edit list for that start; everything else (sample entry, parameter sets, time
/// scales) is the same as the first chunk's. Segments are timed by their own `tfdt` and played
/// under one init segment, so two init segments that differ only in their edit lists are
/// interchangeable, and the first chunk's (which is the whole ladder's) serves for all.
public enum InitSegment {
    /// Whether `a` and `b` are the same but for their edit lists (`edts` boxes).
    public static func interchangeable(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        guard let x = withoutEditLists(a), let y = withoutEditLists(b) else { return false }
        return x == y
    }

    /// The boxes with every `edts` box (under `moov/trak`) left out and the sizes of the boxes
    /// around it corrected; nil when the data is not a plain box sequence.
    public static func withoutEditLists(_ d: [UInt8]) -> [UInt8]? {
        rebuild(d, from: 0, to: d.count)
    }

    static let containers: Set<String> = ["moov", "trak"]

    static func rebuild(_ d: [UInt8], from start: Int, to end: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var i = start
        while i < end {
            guard let box = SegmentKeyframe.box(d, at: i, end: end) else { return nil }
            if box.type == "edts" {
                // Left out.
            } else if containers.contains(box.type) {
                guard let body = rebuild(d, from: box.body, to: box.start + box.size) else { return nil }
                let size = UInt32(body.count + 8)
                out += [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
                out += d[(box.start + 4)..<(box.start + 8)]
                out += body
            } else {
                out += d[box.start..<(box.start + box.size)]
            }
            i = box.start + box.size
        }
        return out
    }
}
