import Foundation
import RepriseCut
import RepriseMedia

/// A ladder's top rung made of the source's own frames: a smart cut of the range into the HLS
/// muxer, one cut range per GOP of the ladder's keyframe grid. A range whose start holds a source
/// keyframe and whose GOPs lie inside it is copied; where the grid needs an IDR the source lacks,
/// the partial GOPs on both sides of that grid point are re-encoded (the cut's edges), so every
/// grid time starts with an IDR, as in the encoded rungs.
enum ReusedRung {
    /// The grid's ranges as frame positions (presentation order): one per GOP, starting at the
    /// first frame at or after each multiple of `gopTicks` from the range's first frame — the
    /// rule the encoded rungs force their IDRs by.
    static func gridRanges(planner: CutPlanner, firstPTS: Int64, endPTS: Int64, gopTicks: Int64) -> [RangeRequest] {
        let order = planner.order, packets = planner.packets
        func position(_ t: Int64) -> Int {
            var l = 0, h = order.count
            while l < h { let m = (l + h) / 2; if packets[order[m]].pts < t { l = m + 1 } else { h = m } }
            return l
        }
        let lo = position(firstPTS), hi = position(endPTS)
        var starts = [lo]
        var k: Int64 = 1
        while true {
            let p = position(firstPTS + k * max(gopTicks, 1))
            if p >= hi { break }
            if p > starts.last! { starts.append(p) }
            k += 1
        }
        starts.append(hi)
        return zip(starts, starts.dropFirst()).map { RangeRequest(from: .frame($0), to: .frame($1)) }
    }

    /// The share of the grid's range starts (after the first) that are source keyframes a copy
    /// may start at; 1 when the range is one GOP long.
    static func keyframesOnGrid(_ grid: [RangeRequest], planner: CutPlanner) -> Double {
        let starts = grid.dropFirst().compactMap { r -> Int? in if case .frame(let n) = r.from { return n } else { return nil } }
        guard !starts.isEmpty else { return 1 }
        let aligned = starts.filter { planner.packets[planner.order[$0]].isCopyStart }.count
        return Double(aligned) / Double(starts.count)
    }

    /// Runs the cut on its own thread (it reads the file with its own demuxer) while the caller
    /// decodes for the other rungs; `wait` returns its result.
    final class Job: @unchecked Sendable {
        private var outcome: Result<CutResult, any Error>? = nil
        private let done = DispatchSemaphore(value: 0)

        init(_ request: CutRequest) {
            let thread = Thread { [self] in
                outcome = Result { try CutEngine().run(request) }
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }

        func wait() throws -> CutResult {
            done.wait()
            done.signal()  // a second wait returns at once
            return try outcome!.get()
        }
    }
}
