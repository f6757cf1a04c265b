/// fMP4 init segments (`init.mp4`) compared for a stitch. A later chunk of a ladder rung is
/// muxed as a continuation (its first fragment's decode time is not 0), so libavformat's movenc
/// writes no leading empty edit (the delay before the first frame) in its edit list; everything
/// else (sample entry, parameter sets, time scales, the media edit) is the same as the first
/// chunk's. Segments are timed by their own `tfdt` and played under one init segment, so two
/// init segments that differ only by that empty edit are interchangeable, and the first chunk's
/// (which is the whole ladder's) serves for all. The media edit's start (the decode delay) must
/// match: a chunk encoded with another delay would play a frame off at its join.
public enum InitSegment {
    /// Whether `a` and `b` are the same but for the empty edits in their edit lists.
    public static func interchangeable(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        guard let x = withoutEditLists(a), let y = withoutEditLists(b), x == y,
              let ea = mediaEdits(a), let eb = mediaEdits(b) else { return false }
        return ea == eb
    }

    /// Every track's edit list less its empty edits (media_time −1): (media_time, rate) of each
    /// entry, the tracks in order; nil when the data is not a plain box sequence.
    public static func mediaEdits(_ d: [UInt8]) -> [[[Int64]]]? {
        guard let moov = topLevel(d).first(where: { $0.type == "moov" }) else { return nil }
        var tracks: [[[Int64]]] = []
        for trak in SegmentKeyframe.children(d, of: moov) where trak.type == "trak" {
            var entries: [[Int64]] = []
            for edts in SegmentKeyframe.children(d, of: trak) where edts.type == "edts" {
                for elst in SegmentKeyframe.children(d, of: edts) where elst.type == "elst" {
                    guard let parsed = editEntries(d, elst) else { return nil }
                    entries += parsed.filter { $0[0] != -1 }
                }
            }
            tracks.append(entries)
        }
        return tracks
    }

    static func topLevel(_ d: [UInt8]) -> [SegmentKeyframe.Box] {
        var out: [SegmentKeyframe.Box] = []
        var i = 0
        while let b = SegmentKeyframe.box(d, at: i, end: d.count) { out.append(b); i = b.start + b.size }
        return out
    }

    /// An `elst` box's entries as [media_time, rate] (versions 0 and 1).
    static func editEntries(_ d: [UInt8], _ elst: SegmentKeyframe.Box) -> [[Int64]]? {
        let end = elst.start + elst.size
        func int(_ at: Int, _ bytes: Int) -> Int64? {
            guard at + bytes <= end else { return nil }
            var v: UInt64 = 0
            for k in 0..<bytes { v = v << 8 | UInt64(d[at + k]) }
            // Signed: media_time is −1 for an empty edit.
            let shift = UInt64(64 - bytes * 8)
            return Int64(bitPattern: v << shift) >> Int64(shift)
        }
        guard let version = int(elst.body, 1), let count = int(elst.body + 4, 4), count >= 0 else { return nil }
        let wide = version == 1
        let entrySize = wide ? 20 : 12
        var out: [[Int64]] = []
        var p = elst.body + 8
        for _ in 0..<count {
            guard let mediaTime = int(p + (wide ? 8 : 4), wide ? 8 : 4), let rate = int(p + (wide ? 16 : 8), 4) else { return nil }
            out.append([mediaTime, rate])
            p += entrySize
        }
        return out
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
