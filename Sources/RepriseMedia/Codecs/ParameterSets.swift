/// H.264/HEVC parameter sets as carried in a stream's extradata (avcC/hvcC records or Annex B).
/// Cutting needs them to (a) give re-encoded edges their own ids and list both sets in avcC,
/// and (b) re-send the source's sets in-band where a copied run follows re-encoded frames.
public struct ParameterSets: Sendable {
    public var isHEVC: Bool
    public var vps: [[UInt8]] = []
    public var sps: [[UInt8]] = []
    public var pps: [[UInt8]] = []

    public init(isHEVC: Bool) { self.isHEVC = isHEVC }

    public var isEmpty: Bool { sps.isEmpty || pps.isEmpty }

    /// All parameter-set NAL units in decoding order (VPS, SPS, PPS).
    public var all: [[UInt8]] { vps + sps + pps }

    /// Parses avcC / hvcC, or Annex B extradata.
    public init(extradata: [UInt8], isHEVC: Bool) {
        self.isHEVC = isHEVC
        guard !extradata.isEmpty else { return }
        if extradata[0] == 1 {
            if isHEVC { parseHVCC(extradata) } else { parseAVCC(extradata) }
        } else {
            for r in NALUnits.split(extradata, framing: .annexB) {
                add(Array(extradata[r.start..<(r.start + r.length)]))
            }
        }
    }

    /// Collects parameter sets from an Annex B packet (an encoder's keyframe with in-band headers).
    public init(annexBPacket data: [UInt8], isHEVC: Bool) {
        self.isHEVC = isHEVC
        for r in NALUnits.split(data, framing: .annexB) { add(Array(data[r.start..<(r.start + r.length)])) }
    }

    /// Adds a VPS/SPS/PPS NAL unit (other units are ignored). An identical set already held
    /// collapses into it; a different set with an id already held is kept too (so `conflicts`
    /// and `hasConflicts` can see it), but `mergedAVCC` refuses to list both.
    public mutating func add(_ nal: [UInt8]) {
        guard let h = nal.first else { return }
        let kind: Kind?
        if isHEVC {
            switch HEVCNAL.type(h) {
            case HEVCNAL.vps: kind = .vps
            case HEVCNAL.sps: kind = .sps
            case HEVCNAL.pps: kind = .pps
            default: kind = nil
            }
        } else {
            switch H264NAL.type(h) {
            case H264NAL.sps: kind = .sps
            case H264NAL.pps: kind = .pps
            default: kind = nil
            }
        }
        guard let kind else { return }
        let key = ParameterSets.canonical(nal)
        switch kind {
        case .vps: if !vps.contains(where: { ParameterSets.canonical($0) == key }) { vps.append(nal) }
        case .sps: if !sps.contains(where: { ParameterSets.canonical($0) == key }) { sps.append(nal) }
        case .pps: if !pps.contains(where: { ParameterSets.canonical($0) == key }) { pps.append(nal) }
        }
    }

    /// Collects the parameter sets of one packet in the stream's framing (in-band sets).
    public mutating func collect(from packet: UnsafeBufferPointer<UInt8>, framing: NALFraming) {
        var it = NALUnitIterator(packet, framing: framing)
        while let r = it.next() {
            let h = packet[r.start]
            let isSet = isHEVC ? (HEVCNAL.type(h) >= HEVCNAL.vps && HEVCNAL.type(h) <= HEVCNAL.pps)
                               : (H264NAL.type(h) == H264NAL.sps || H264NAL.type(h) == H264NAL.pps)
            if isSet { add(Array(packet[r.start..<(r.start + r.length)])) }
        }
    }

    /// Adds every set of `other` (identical ones collapse).
    public mutating func formUnion(_ other: ParameterSets) {
        for nal in other.all { add(nal) }
    }

    private mutating func parseAVCC(_ d: [UInt8]) {
        guard d.count >= 7 else { return }
        var i = 5
        let nsps = Int(d[i] & 0x1F); i += 1
        for _ in 0..<nsps {
            guard i + 2 <= d.count else { return }
            let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            guard i + len <= d.count else { return }
            add(Array(d[i..<(i + len)])); i += len
        }
        guard i < d.count else { return }
        let npps = Int(d[i]); i += 1
        for _ in 0..<npps {
            guard i + 2 <= d.count else { return }
            let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            guard i + len <= d.count else { return }
            add(Array(d[i..<(i + len)])); i += len
        }
    }

    private mutating func parseHVCC(_ d: [UInt8]) {
        guard d.count >= 23 else { return }
        var i = 22
        let arrays = Int(d[i]); i += 1
        for _ in 0..<arrays {
            guard i + 3 <= d.count else { return }
            i += 1  // array_completeness + NAL type
            let n = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
            for _ in 0..<n {
                guard i + 2 <= d.count else { return }
                let len = Int(d[i]) << 8 | Int(d[i + 1]); i += 2
                guard i + len <= d.count else { return }
                add(Array(d[i..<(i + len)])); i += len
            }
        }
    }

    // MARK: Typed ids

    public enum Kind: String, Sendable, Hashable { case vps, sps, pps }

    /// Which parameter set a NAL unit is: its kind and its own id.
    public struct ID: Sendable, Hashable, CustomStringConvertible {
        public var kind: Kind
        public var id: Int
        public init(_ kind: Kind, _ id: Int) { self.kind = kind; self.id = id }
        public var description: String { "\(kind.rawValue) \(id)" }
    }

    /// The kind and id of a parameter-set NAL unit of this codec, nil for anything else or unreadable.
    public func id(of nal: [UInt8]) -> ID? {
        guard let h = nal.first else { return nil }
        if isHEVC {
            switch HEVCNAL.type(h) {
            case HEVCNAL.vps: return ParameterSets.hevcVPSID(nal).map { ID(.vps, $0) }
            case HEVCNAL.sps: return ParameterSets.hevcSPSIDs(nal).map { ID(.sps, $0.sps) }
            case HEVCNAL.pps: return ParameterSets.hevcPPSIDs(nal).map { ID(.pps, $0.pps) }
            default: return nil
            }
        }
        switch H264NAL.type(h) {
        case H264NAL.sps: return ParameterSets.h264SPSID(nal).map { ID(.sps, $0) }
        case H264NAL.pps: return ParameterSets.h264PPSIDs(nal).map { ID(.pps, $0.pps) }
        default: return nil
        }
    }

    /// Ids of the held SPS / PPS (and VPS for HEVC) that parse.
    public var spsIDs: Set<Int> { Set(sps.compactMap { id(of: $0)?.id }) }
    public var ppsIDs: Set<Int> { Set(pps.compactMap { id(of: $0)?.id }) }
    public var vpsIDs: Set<Int> { Set(vps.compactMap { id(of: $0)?.id }) }

    /// seq_parameter_set_id of an H.264 SPS NAL unit (after profile_idc, constraint flags, level_idc).
    public static func h264SPSID(_ nal: [UInt8]) -> Int? {
        guard nal.count > 4, H264NAL.type(nal[0]) == H264NAL.sps else { return nil }
        return readFields(nal, from: 4) { r in r.readUE() }
    }

    /// pic_parameter_set_id and seq_parameter_set_id of an H.264 PPS NAL unit.
    public static func h264PPSIDs(_ nal: [UInt8]) -> (pps: Int, sps: Int)? {
        guard nal.count > 1, H264NAL.type(nal[0]) == H264NAL.pps else { return nil }
        return readFields(nal, from: 1) { r in
            guard let p = r.readUE(), p < 256, let s = r.readUE(), s < 32 else { return nil }
            return (p, s)
        }
    }

    /// vps_video_parameter_set_id of an HEVC VPS NAL unit.
    public static func hevcVPSID(_ nal: [UInt8]) -> Int? {
        guard nal.count > 2, HEVCNAL.type(nal[0]) == HEVCNAL.vps else { return nil }
        return Int(nal[2] >> 4)
    }

    /// sps_seq_parameter_set_id and sps_video_parameter_set_id of an HEVC SPS NAL unit
    /// (the SPS id follows the profile_tier_level structure).
    public static func hevcSPSIDs(_ nal: [UInt8]) -> (sps: Int, vps: Int)? {
        guard nal.count > 3, HEVCNAL.type(nal[0]) == HEVCNAL.sps else { return nil }
        return readFields(nal, from: 2) { r in
            guard let vps = r.readBits(4), let maxSubLayersMinus1 = r.readBits(3), r.skip(1) else { return nil }
            // profile_tier_level(1, maxSubLayersMinus1): general part 88 bits + general_level_idc 8.
            guard r.skip(96) else { return nil }
            var profilePresent: [Bool] = [], levelPresent: [Bool] = []
            for _ in 0..<maxSubLayersMinus1 {
                guard let p = r.readBit(), let l = r.readBit() else { return nil }
                profilePresent.append(p == 1); levelPresent.append(l == 1)
            }
            if maxSubLayersMinus1 > 0 { guard r.skip(2 * (8 - maxSubLayersMinus1)) else { return nil } }
            for i in 0..<maxSubLayersMinus1 {
                if profilePresent[i] { guard r.skip(88) else { return nil } }
                if levelPresent[i] { guard r.skip(8) else { return nil } }
            }
            guard let sps = r.readUE(), sps < 16 else { return nil }
            return (sps, vps)
        }
    }

    /// pps_pic_parameter_set_id and pps_seq_parameter_set_id of an HEVC PPS NAL unit.
    public static func hevcPPSIDs(_ nal: [UInt8]) -> (pps: Int, sps: Int)? {
        guard nal.count > 2, HEVCNAL.type(nal[0]) == HEVCNAL.pps else { return nil }
        return readFields(nal, from: 2) { r in
            guard let p = r.readUE(), p < 64, let s = r.readUE(), s < 16 else { return nil }
            return (p, s)
        }
    }

    private static func readFields<T>(_ nal: [UInt8], from: Int, _ body: (inout RBSPReader) -> T?) -> T? {
        nal.withUnsafeBufferPointer { buf in
            var r = RBSPReader(buf, start: from, end: buf.count)
            return body(&r)
        }
    }

    /// The bytes that identify a set: trailing zero bytes (padding, cabac_zero_words) don't count.
    static func canonical(_ nal: [UInt8]) -> ArraySlice<UInt8> {
        var end = nal.count
        while end > 0 && nal[end - 1] == 0 { end -= 1 }
        return nal[..<end]
    }

    /// A set's identifying bytes (trailing zero bytes dropped), for comparing sets.
    public static func canonicalBytes(_ nal: [UInt8]) -> [UInt8] { Array(canonical(nal)) }

    // MARK: Conflicts and merging

    /// Whether some id of `other` names a different set here (bytes differ, trailing zeros aside),
    /// so the two can't be declared together. A set of `other` whose id can't be read conflicts
    /// unless an identical set is held here. Ids only one side uses don't conflict.
    public func conflicts(with other: ParameterSets) -> Bool {
        guard isHEVC == other.isHEVC else { return true }
        var mine: [ID: [ArraySlice<UInt8>]] = [:]
        var allMine: Set<ArraySlice<UInt8>> = []
        for nal in all {
            let key = ParameterSets.canonical(nal)
            allMine.insert(key)
            if let id = id(of: nal) { mine[id, default: []].append(key) }
        }
        for nal in other.all {
            let key = ParameterSets.canonical(nal)
            guard let id = other.id(of: nal) else {
                if !allMine.contains(key) { return true }
                continue
            }
            if let held = mine[id], held.contains(where: { $0 != key }) { return true }
        }
        return false
    }

    /// Whether two different sets held here share an id (a source whose sets changed in-band).
    public var hasConflicts: Bool {
        var seen: [ID: ArraySlice<UInt8>] = [:]
        for nal in all {
            guard let id = id(of: nal) else { continue }
            let key = ParameterSets.canonical(nal)
            if let held = seen[id], held != key { return true }
            seen[id] = key
        }
        return false
    }

    /// The union of both, or nil when some id would name two different sets.
    public func merging(_ other: ParameterSets) -> ParameterSets? {
        guard !conflicts(with: other) else { return nil }
        var out = self
        out.formUnion(other)
        return out.hasConflicts ? nil : out
    }

    /// The lowest id (0…31) that no held set — nor any of `others` (in-band sets seen in the
    /// source, where known) — uses as SPS id or as PPS id. x264's `sps-id` gives both the SPS and
    /// the PPS this id, so both must be free.
    public func unusedH264ID(avoiding others: [ParameterSets] = []) -> Int {
        var used = spsIDs.union(ppsIDs)
        for o in others { used.formUnion(o.spsIDs); used.formUnion(o.ppsIDs) }
        if let free = (0..<32).first(where: { !used.contains($0) }) { return free }
        // Every id taken as one or the other (not seen in practice): settle for a free SPS id.
        var spsUsed = spsIDs
        for o in others { spsUsed.formUnion(o.spsIDs) }
        return (0..<32).first { !spsUsed.contains($0) } ?? 31
    }

    /// An avcC record with the source's header fields and tail (High-profile chroma/bit-depth
    /// fields) listing every distinct SPS and PPS of the source and of `extra`. Identical sets
    /// collapse; nil when an id would name two different sets, or the record can't be read.
    public static func mergedAVCC(source: [UInt8], adding extra: ParameterSets) -> [UInt8]? {
        guard source.count >= 7, source[0] == 1, !extra.isHEVC else { return nil }
        let base = ParameterSets(extradata: source, isHEVC: false)
        var i = 5
        let nsps = Int(source[i] & 0x1F); i += 1
        for _ in 0..<nsps { guard i + 2 <= source.count else { return nil }; i += 2 + (Int(source[i]) << 8 | Int(source[i + 1])) }
        guard i < source.count else { return nil }
        let npps = Int(source[i]); i += 1
        for _ in 0..<npps { guard i + 2 <= source.count else { return nil }; i += 2 + (Int(source[i]) << 8 | Int(source[i + 1])) }
        guard i <= source.count else { return nil }
        let tail = Array(source[i...])
        guard let merged = base.merging(extra) else { return nil }
        guard merged.sps.count < 32, merged.pps.count < 256,
              (merged.sps + merged.pps).allSatisfy({ $0.count <= 0xFFFF }) else { return nil }
        var out = Array(source[0..<5])
        out.append(0xE0 | UInt8(merged.sps.count))
        for s in merged.sps { out += [UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s }
        out.append(UInt8(merged.pps.count))
        for p in merged.pps { out += [UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        return out + tail
    }
}
