/// Decode times for a whole output, chosen once: the n-th video packet written gets the
/// presentation time of the output's (n − delay)-th frame, where `delay` is the largest reorder
/// depth anywhere in the output (copied source GOPs, re-encoded edges). DTS then rise by whole
/// frame steps across every join, so no frame is squeezed to a tick (which makes a browser show
/// the next range's first frame in place of a range's last). Pure: no I/O.
public struct OutputClock: Sendable {
    /// Every output frame's presentation time, sorted.
    let sorted: [Int64]
    public let delay: Int
    private(set) var written = 0

    /// - Parameters:
    ///   - writeOrder: output presentation times in the order packets will be written.
    ///   - minimumDelay: a floor for the delay (an encoder that reorders by itself).
    public init(writeOrder: [Int64], minimumDelay: Int = 0) {
        sorted = writeOrder.sorted()
        var rank: [Int64: Int] = [:]
        rank.reserveCapacity(sorted.count)
        for (k, t) in sorted.enumerated() { rank[t] = k }
        var depth = minimumDelay
        for (n, t) in writeOrder.enumerated() { depth = max(depth, n - (rank[t] ?? n)) }
        delay = depth
    }

    /// The planned write order of every frame of `plans` (head frames in presentation order,
    /// copied packets in decode order, tail frames in presentation order), in output time.
    public static func writeOrder(of plans: [PlannedRange], planner: CutPlanner) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(plans.reduce(0) { $0 + $1.frameCount })
        for plan in plans {
            let shift = plan.outputOffset - plan.firstPTS
            func presented(_ keep: Range<Int64>) {
                var k = planner.lowerBound(keep.lowerBound)
                while k < planner.order.count, planner.packets[planner.order[k]].pts < keep.upperBound {
                    out.append(planner.packets[planner.order[k]].pts + shift)
                    k += 1
                }
            }
            if let head = plan.head { presented(head.keep) }
            if let copy = plan.copy {
                for i in copy.packets where !copy.dropped.contains(i) { out.append(planner.packets[i].pts + shift) }
            }
            if let tail = plan.tail { presented(tail.keep) }
        }
        return out
    }

    /// The decode time of the next packet written.
    public mutating func next() -> Int64 {
        defer { written += 1 }
        guard !sorted.isEmpty else { return Int64(written) }
        let step = sorted.count > 1 ? max(sorted[1] - sorted[0], 1) : 1
        let k = written - delay
        if k < 0 { return sorted[0] + Int64(k) * step }
        if k < sorted.count { return sorted[k] }
        return sorted[sorted.count - 1] + Int64(k - sorted.count + 1) * step
    }
}

/// The frames a decode step must deliver, in presentation order. A damaged packet may decode
/// to nothing; its slot is then filled with the previous picture (the decoder's concealment
/// at frame level), so every output keeps its frame count and timing. Pure: no I/O.
public struct FrameSchedule: Sendable {
    private let times: [Int64]
    private var cursor = 0
    /// Slots filled with a repeated picture.
    public private(set) var filled = 0

    public init(planner: CutPlanner, keep: Range<Int64>) {
        var t: [Int64] = []
        var k = planner.lowerBound(keep.lowerBound)
        while k < planner.order.count, planner.packets[planner.order[k]].pts < keep.upperBound {
            t.append(planner.packets[planner.order[k]].pts)
            k += 1
        }
        times = t
    }

    public var count: Int { times.count }

    /// For a decoded frame at `pts`: the earlier slots it skipped (to be filled), and whether the
    /// frame itself is one the step delivers (a frame with an unplanned time is not).
    public mutating func admit(_ pts: Int64) -> (missed: ArraySlice<Int64>, deliver: Bool) {
        let start = cursor
        while cursor < times.count && times[cursor] < pts { cursor += 1 }
        let missed = times[start..<cursor]
        filled += missed.count
        if cursor < times.count && times[cursor] == pts { cursor += 1; return (missed, true) }
        return (missed, false)
    }

    /// Slots still open when the decoder is drained.
    public mutating func rest() -> ArraySlice<Int64> {
        let missed = times[cursor...]
        filled += missed.count
        cursor = times.count
        return missed
    }
}
