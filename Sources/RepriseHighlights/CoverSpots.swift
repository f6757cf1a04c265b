/// Where each output's cover is looked for: inside the output's own ranges, and away from the other
/// outputs' covers, so that a reel, its teaser and its short — which share their strongest moment —
/// do not all show the same frame. Outputs that are the same single range may share a cover.
enum CoverSpots {
    struct Spot: Equatable {
        /// The moment chosen (recording seconds).
        var around: Double
        /// Where the sharpest frame is looked for: within one of the output's ranges, near `around`.
        var within: Range<Double>
        /// That range, whole: looked in when `within` holds no frame (a low frame rate, a gap).
        var range: Range<Double>
    }

    /// Seconds kept between two outputs' cover moments where their ranges allow it; the sharpest frame
    /// is looked for within half of it either side (and never past the midpoint to another output's
    /// moment), so those searches never meet.
    static let apart = 4.0

    /// A spot per output (nil for one without ranges). The outputs with the least footage choose
    /// first, since they have the fewest moments to choose from; each takes its peak, or its
    /// best-scoring moment at least `apart` from the covers already chosen, or failing that the
    /// moment farthest from them.
    static func pick(_ outputs: [(ranges: [[Double]], peak: Double)], score: [Double]) -> [Spot?] {
        let usable = outputs.map { $0.ranges.filter { $0.count == 2 && $0[0] < $0[1] } }
        let length = usable.map { $0.reduce(0) { $0 + $1[1] - $1[0] } }
        let order = outputs.indices.sorted { (length[$0], $0) < (length[$1], $1) }
        var spots = [Spot?](repeating: nil, count: outputs.count)
        var taken: [Double] = []
        for i in order {
            let ranges = usable[i]
            guard !ranges.isEmpty else { continue }
            if ranges.count == 1, let same = order.first(where: { spots[$0] != nil && usable[$0] == ranges }) {
                spots[i] = spots[same]
                continue
            }
            func value(_ t: Double) -> Double {
                let s = Int(t.rounded(.down))
                return s >= 0 && s < score.count ? score[s] : 0
            }
            func distance(_ t: Double) -> Double { taken.map { abs($0 - t) }.min() ?? .infinity }
            // Every half second of the ranges, the peak first where it lies in one.
            var candidates: [Double] = []
            let peak = outputs[i].peak
            if ranges.contains(where: { $0[0] <= peak && peak < $0[1] }) { candidates.append(peak) }
            for r in ranges {
                var t = r[0] + min(0.25, (r[1] - r[0]) / 2)
                while t < r[1] {
                    candidates.append(t)
                    t += 0.5
                }
            }
            let apartEnough = candidates.filter { distance($0) >= apart }
            let moment: Double
            if let first = apartEnough.first, first == peak {
                moment = peak
            } else if let best = apartEnough.enumerated().max(by: { (value($0.element), -$0.offset) < (value($1.element), -$1.offset) }) {
                moment = best.element
            } else {
                moment = candidates.enumerated().max {
                    (distance($0.element), value($0.element), -$0.offset) < (distance($1.element), value($1.element), -$1.offset)
                }!.element
            }
            let range = ranges.first { $0[0] <= moment && moment < $0[1] }!
            spots[i] = Spot(around: moment, within: max(range[0], moment - apart / 2)..<min(range[1], moment + apart / 2),
                            range: range[0]..<range[1])
            taken.append(moment)
        }
        // Where two moments are closer than `apart`, each searches only its side of the midpoint
        // between them, so their frames still differ.
        for i in spots.indices {
            guard let spot = spots[i] else { continue }
            var lower = spot.within.lowerBound, upper = spot.within.upperBound
            for other in Set(taken) where other != spot.around {
                let middle = (other + spot.around) / 2
                if other < spot.around { lower = max(lower, middle) } else { upper = min(upper, middle) }
            }
            spots[i]?.within = lower..<max(lower, upper)
        }
        return spots
    }
}
