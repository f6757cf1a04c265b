import RepriseMedia

public enum CutMode: String, Sendable, CaseIterable, Codable {
    /// Copy whole GOPs, re-encode the partial GOPs at both edges.
    case smart
    /// Decode and re-encode the whole range.
    case exact
    /// Copy from the random-access point at or before `from` to the next one at or after `to`.
    case keyframe
}

/// A requested range as the user wrote it.
public struct RangeRequest: Sendable, Equatable {
    public var from: TimeSpec
    public var to: TimeSpec
    public init(from: TimeSpec, to: TimeSpec) { self.from = from; self.to = to }
}

/// Frames to decode and re-encode: packets `decode` (decode order, from a decode start) are fed
/// to a decoder; the frames whose pts lies in `keep` are encoded.
public struct ReencodeStep: Equatable, Sendable {
    public var decode: Range<Int>
    public var keep: Range<Int64>
}

/// Packets copied untouched (in decode order), except `dropped` (HEVC RASL pictures of the
/// first copied CRA, whose time slots the head re-encodes) and the CRA itself, relabelled BLA.
public struct CopyStep: Equatable, Sendable {
    public var packets: Range<Int>
    public var dropped: Set<Int> = []
    public var relabelAsBLA: Int? = nil
    public var count: Int { packets.count - dropped.count }
}

/// What will be written for one range. Times in the video stream's time base.
/// Head, copy and tail are written in that order; their packet spans may overlap (an open-GOP
/// head decodes through the leading pictures that follow the first copied CRA).
public struct PlannedRange: Equatable, Sendable {
    /// Presentation time of the first frame written.
    public var firstPTS: Int64
    /// Presentation time just after the last frame written (its pts + duration).
    public var endPTS: Int64
    public var frameCount: Int
    public var head: ReencodeStep?
    public var copy: CopyStep?
    public var tail: ReencodeStep?
    /// Output time of the first frame (ranges are laid end to end).
    public var outputOffset: Int64 = 0
    public var reencodedFrames: Int = 0
    /// Which request this range serves (a request that spans a discontinuity is planned as one
    /// range per run, laid end to end).
    public var request: Int = 0
    /// Why this range is re-encoded although copying was asked for (other parameter sets).
    public var reencodeReason: String? = nil

    public var duration: Int64 { endPTS - firstPTS }
    /// All packets this range reads, in decode order.
    public var packetSpan: Range<Int> {
        let spans = [head?.decode, copy?.packets, tail?.decode].compactMap { $0 }
        return spans.map(\.lowerBound).min()!..<spans.map(\.upperBound).max()!
    }
    public var copiedPackets: Int { copy?.count ?? 0 }
}

/// Turns requested ranges into segments, from the packet index alone (no I/O): easy to test.
public struct CutPlanner: Sendable {
    public let packets: [IndexedPacket]
    public let timeBase: TimeBase
    /// The recording's start (container start time) in the video time base: user time 0.
    public let origin: Int64
    /// Packet indices in presentation order.
    public let order: [Int]
    /// Decode-order indices of packets decoding may start at, and of those a copy may start at.
    let decodeStarts: [Int]
    let copyStarts: [Int]
    public let path: String
    /// The timeline's runs (first packet, parameter-set entry); one run for a clean recording.
    public let runs: [TimelineRun]

    public init(index: PacketIndex, path: String) {
        self.init(packets: index.packets, timeBase: index.timeBase,
                  origin: TimeBase.microseconds.rescale(index.header.startTimeMicros, to: index.timeBase), path: path,
                  runs: index.header.runs)
    }

    public init(packets: [IndexedPacket], timeBase: TimeBase, origin: Int64, path: String = "input", runs: [TimelineRun] = []) {
        self.packets = packets
        self.timeBase = timeBase
        self.origin = origin
        self.order = PacketIndex.presentationOrder(of: packets)
        decodeStarts = packets.indices.filter { packets[$0].isDecodeStart || packets[$0].isCopyStart }
        copyStarts = packets.indices.filter { packets[$0].isCopyStart }
        self.path = path
        self.runs = runs.isEmpty
            ? [TimelineRun(kind: .start, firstPacket: 0, position: 0, offset: 0, jump: 0, parameterSets: 0, undecodableFrames: 0)]
            : runs
    }

    /// One past the last packet of the run holding packet `i`.
    func runEnd(ofPacket i: Int) -> Int {
        let r = run(ofPacket: i)
        return r + 1 < runs.count ? runs[r + 1].firstPacket : packets.count
    }

    /// The run holding packet `i` (decode order).
    public func run(ofPacket i: Int) -> Int {
        var l = 0, h = runs.count
        while l < h { let m = (l + h) / 2; if runs[m].firstPacket <= i { l = m + 1 } else { h = m } }
        return max(l - 1, 0)
    }

    /// End of the last frame: the recording's video end.
    public var endPTS: Int64 {
        guard let last = order.last else { return origin }
        return packets[last].pts + max(packets[last].duration, 1)
    }
    public var durationSeconds: Double { timeBase.seconds(endPTS - origin) }

    func pts(for spec: TimeSpec, isEnd: Bool) throws -> Int64 {
        switch spec {
        case .seconds(let s):
            return origin + timeBase.ticks(seconds: s)
        case .frame(let n):
            if n < order.count { return packets[order[n]].pts }
            if isEnd && n == order.count { return endPTS }
            throw CutError(.badRange, path: path, detail: "frame f\(n) is past the last frame (the recording has \(order.count) frames)")
        }
    }

    func fmt(_ pts: Int64) -> String { String(format: "%.3fs", timeBase.seconds(pts - origin)) }

    /// Plans all ranges, laid end to end from output time 0. A request that crosses from one
    /// run to the next becomes one range per run: GOPs and decode spans never straddle a
    /// discontinuity, and a run whose parameter sets the output doesn't declare is re-encoded.
    public func plan(_ requests: [RangeRequest], mode: CutMode) throws -> [PlannedRange] {
        var offset: Int64 = 0
        var result: [PlannedRange] = []
        for (n, r) in requests.enumerated() {
            let (lo, hi) = try bounds(r)
            var start = lo
            while start < hi {
                let current = run(ofPacket: order[start])
                var end = start + 1
                while end < hi && run(ofPacket: order[end]) == current { end += 1 }
                var planned: PlannedRange
                if mode != .exact && runs[current].parameterSets != 0 {
                    planned = planReencode(lo: start, hi: end)
                    planned.reencodeReason = "the stream's parameter sets change at \(fmt(packets[order[start]].pts)); that run is re-encoded"
                } else {
                    planned = planSpan(lo: start, hi: end, mode: mode)
                }
                planned.request = n
                planned.outputOffset = offset
                offset += planned.duration
                result.append(planned)
                start = end
            }
        }
        return result
    }

    /// Plans one range as one piece (a transcode reads it with one decoder, across any run).
    public func plan(_ request: RangeRequest, mode: CutMode) throws -> PlannedRange {
        let (lo, hi) = try bounds(request)
        return planSpan(lo: lo, hi: hi, mode: mode)
    }

    /// Positions in `order` of the frames in [from, to).
    func bounds(_ request: RangeRequest) throws -> (Int, Int) {
        guard !order.isEmpty else { throw CutError(.noVideo, path: path, detail: "no readable video frames") }
        let a = try pts(for: request.from, isEnd: false)
        let b = try pts(for: request.to, isEnd: true)
        let total = String(format: "%.3fs", durationSeconds)
        guard a < b else {
            throw CutError(.badRange, path: path, detail: "range start \(request.from) is not before its end \(request.to)")
        }
        let lo = try firstFrame(at: a, from: request.from)
        guard b <= endPTS + max(timeBase.ticks(seconds: 0.0005), 0) else {
            throw CutError(.badRange, path: path, detail: "range end \(request.to) is past the recording's end (\(total))")
        }
        // Frames in [a, b), in presentation order.
        let hi = lowerBound(b)
        guard lo < hi else {
            throw CutError(.badRange, path: path, detail: "no frame lies in [\(request.from), \(request.to))")
        }
        return (lo, hi)
    }

    /// Position in presentation order (what `f<N>` counts) of the frame a cut starting at `from`
    /// begins with: the first frame presented at or after it. Throws as a cut would for a start
    /// outside the recording.
    public func firstFrame(from: TimeSpec) throws -> Int {
        guard !order.isEmpty else { throw CutError(.noVideo, path: path, detail: "no readable video frames") }
        return try firstFrame(at: pts(for: from, isEnd: false), from: from)
    }

    func firstFrame(at a: Int64, from: TimeSpec) throws -> Int {
        guard a < endPTS, a >= origin else {
            throw CutError(.badRange, path: path, detail: "range start \(from) is outside the recording (0 to \(String(format: "%.3fs", durationSeconds)))")
        }
        return lowerBound(a)
    }

    func planSpan(lo: Int, hi: Int, mode: CutMode) -> PlannedRange {
        switch mode {
        case .keyframe: return planKeyframe(lo: lo, hi: hi)
        case .exact: return planReencode(lo: lo, hi: hi)
        case .smart: return planSmart(lo: lo, hi: hi)
        }
    }

    /// First position in `order` whose pts ≥ t.
    func lowerBound(_ t: Int64) -> Int {
        var l = 0, h = order.count
        while l < h { let m = (l + h) / 2; if packets[order[m]].pts < t { l = m + 1 } else { h = m } }
        return l
    }

    func frameEnd(_ orderPos: Int) -> Int64 {
        let p = packets[order[orderPos]]
        if orderPos + 1 < order.count { return packets[order[orderPos + 1]].pts }
        return p.pts + max(p.duration, 1)
    }

    /// Latest decode start (or copy start) presented at or before `pts`: a binary search, so
    /// planning costs the same at minute 2 or minute 170. Random-access points are presented
    /// in decode order, which makes the lists sorted by pts too.
    func decodeStart(atOrBefore pts: Int64, copyOnly: Bool = false) -> Int {
        let list = copyOnly ? copyStarts : decodeStarts
        var l = 0, h = list.count
        while l < h { let m = (l + h) / 2; if packets[list[m]].pts <= pts { l = m + 1 } else { h = m } }
        return l > 0 ? list[l - 1] : (list.first ?? 0)
    }

    /// One past the last packet (decode order, from `start`) that holds a frame presented before `end`.
    func decodeEnd(from start: Int, before end: Int64) -> Int {
        var last = start
        var i = start
        // Not past the run of the last frame wanted: the next run may begin with undecodable packets.
        let lastWanted = lowerBound(end) - 1
        let stop = lastWanted >= 0 ? runEnd(ofPacket: order[lastWanted]) : packets.count
        while i < stop {
            let p = packets[i]
            if i > start && p.isCopyStart && p.pts >= end { break }
            if p.pts < end && !p.isCorruptOrUntimed { last = i }
            i += 1
        }
        return last + 1
    }

    func planReencode(lo: Int, hi: Int) -> PlannedRange {
        let first = packets[order[lo]].pts
        let end = frameEnd(hi - 1)
        let start = decodeStart(atOrBefore: first)
        let lastPTS = packets[order[hi - 1]].pts
        let step = ReencodeStep(decode: start..<decodeEnd(from: start, before: lastPTS + 1), keep: first..<(lastPTS + 1))
        var r = PlannedRange(firstPTS: first, endPTS: end, frameCount: hi - lo, head: step)
        r.reencodedFrames = hi - lo
        return r
    }

    /// Whole GOPs inside the range are copied; the partial GOPs at both edges are re-encoded.
    /// A GOP starts at a clean random-access point (IDR, or a CRA with no leading pictures),
    /// or — for the first copied GOP only — at a CRA whose leading (RASL) pictures are dropped
    /// and re-encoded by the head instead.
    func planSmart(lo: Int, hi: Int) -> PlannedRange {
        let first = packets[order[lo]].pts
        let lastPTS = packets[order[hi - 1]].pts
        // GOPs from the one holding the first frame onwards; earlier ones can't be inside.
        let from = decodeStart(atOrBefore: first)
        var a = 0, b = decodeStarts.count
        while a < b { let m = (a + b) / 2; if decodeStarts[m] < from { a = m + 1 } else { b = m } }
        let stop = runEnd(ofPacket: from)
        var starts = Array(decodeStarts[a...].prefix { $0 < stop })
        starts.append(stop)
        var copyFrom: Int? = nil, copyTo = 0
        var dropped: Set<Int> = []
        for k in 0..<(starts.count - 1) {
            let g = starts[k]..<starts[k + 1]
            let isFirst = copyFrom == nil
            // Only the first copied GOP may start at an unclean CRA; later ones have their references.
            if isFirst && !packets[g.lowerBound].isCopyStart && !packets[g.lowerBound].isDecodeStart { continue }
            let leading = isFirst && !packets[g.lowerBound].isCopyStart ? Set(g.filter { packets[$0].isLeading }) : []
            var minPTS = Int64.max, maxPTS = Int64.min, bad = false
            for i in g where !leading.contains(i) {
                if packets[i].isCorruptOrUntimed || packets[i].isDamaged { bad = true; break }
                minPTS = min(minPTS, packets[i].pts); maxPTS = max(maxPTS, packets[i].pts)
            }
            let inside = !bad && minPTS >= first && maxPTS <= lastPTS
            if inside {
                if copyFrom == nil { copyFrom = g.lowerBound; copyTo = g.upperBound; dropped = leading }
                else if copyTo == g.lowerBound { copyTo = g.upperBound }
                else { break }
            } else if copyFrom != nil {
                break  // frames in range are contiguous, so the run of whole GOPs has ended
            }
        }
        guard let cf = copyFrom, copyTo > cf else { return planReencode(lo: lo, hi: hi) }
        var copy = CopyStep(packets: cf..<copyTo, dropped: dropped)
        if !packets[cf].isCopyStart { copy.relabelAsBLA = cf }
        let kept = copy.packets.filter { !dropped.contains($0) }
        let copyMin = kept.map { packets[$0].pts }.min()!
        let copyMax = kept.map { packets[$0].pts }.max()!
        var r = PlannedRange(firstPTS: first, endPTS: frameEnd(hi - 1), frameCount: hi - lo, copy: copy)
        if first < copyMin {
            let start = decodeStart(atOrBefore: first)
            // Decode through the dropped leading pictures: their time slots belong to the head.
            let end = max(cf, (dropped.max() ?? -1) + 1)
            r.head = ReencodeStep(decode: start..<end, keep: first..<copyMin)
            r.reencodedFrames += lowerBound(copyMin) - lo
        }
        if copyMax < lastPTS {
            let tailFirst = lowerBound(copyMax + 1)
            let tailPTS = packets[order[tailFirst]].pts
            // Leading pictures of the next CRA belong to the tail and need the GOP before it decoded.
            let start = decodeStart(atOrBefore: tailPTS)
            r.tail = ReencodeStep(decode: start..<decodeEnd(from: start, before: lastPTS + 1), keep: tailPTS..<(lastPTS + 1))
            r.reencodedFrames += hi - tailFirst
        }
        return r
    }

    func planKeyframe(lo: Int, hi: Int) -> PlannedRange {
        let first = packets[order[lo]].pts
        let lastPTS = packets[order[hi - 1]].pts
        let start = decodeStart(atOrBefore: first, copyOnly: true)
        // End at the next copy start presented after the last asked-for frame.
        let stop = runEnd(ofPacket: start)
        var end = stop
        var i = start + 1
        while i < stop {
            if packets[i].isCopyStart && packets[i].pts > lastPTS { end = i; break }
            i += 1
        }
        let span = start..<end
        let ptsList = span.filter { !packets[$0].isCorruptOrUntimed }.map { packets[$0].pts }.sorted()
        let realFirst = ptsList.first!, realLast = ptsList.last!
        let lastPos = lowerBound(realLast)
        return PlannedRange(firstPTS: realFirst, endPTS: frameEnd(lastPos), frameCount: ptsList.count,
                            copy: CopyStep(packets: span))
    }
}
