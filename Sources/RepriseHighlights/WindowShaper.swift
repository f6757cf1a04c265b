import Foundation

/// A stretch of the recording worth keeping, with why.
public struct Window: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    /// The moment itself (the run of seconds above the bar, and the orders tied to it): the
    /// window never loses any of it; the rest is padding.
    public var momentStart: Double
    public var momentEnd: Double
    /// The moment's centre of mass (score-weighted mean second).
    public var peak: Double
    /// Mean combined score over the window.
    public var score: Double
    /// Each signal's z-score at the peak (what made it stand out).
    public var signals: [String: Double]
    public var reasons: [String]
    public var duration: Double { end - start }
    public var momentDuration: Double { momentEnd - momentStart }
}

/// Turns the scored seconds into windows that each hold whole moments: a moment is a run of
/// seconds scoring at least the bar (with the orders tied to it); its window is padded to the
/// shortest window length, its edges snapped outwards to a scene cut or a pause, and windows that
/// touch are merged. Only windows whose mean score clears the bar are kept: a one-second blip
/// padded to a window is not a moment.
public enum WindowShaper {
    public static func moments(_ scored: Scoring.Scored, series: SignalSeries, minLength: Double, maxLength: Double,
                               snap: Double, minScore: Double, end recordingEnd: Double? = nil) -> [Window] {
        let s = scored.total
        let n = s.count
        guard n > 0, minLength > 0 else { return [] }
        // The last second's bin may reach past the recording's end (a duration of 20.02 s has 21 bins).
        let last = min(Double(n), recordingEnd ?? Double(n))
        let runs = Scoring.runs(s, atLeast: minScore)
        let tied = scored.ties.filter { tie in runs.contains { $0.overlaps(tie) } }
        let cores = merged((runs + tied).map { (Double($0.lowerBound), min(last, Double($0.upperBound))) }, gap: 0)
            .map { Int($0.0)..<Int($0.1.rounded(.up)) }
        let snapPoints = (series.sceneCuts + series.pauses).sorted()
        var shaped: [(start: Double, end: Double, moment: (Double, Double))] = []
        for core in cores where !core.isEmpty {
            var lo = core.lowerBound, hi = min(n, core.upperBound)
            // A sustained rush longer than the longest window keeps its strongest stretch.
            if Double(hi - lo) > maxLength {
                let length = Int(maxLength)
                let a = bestStart(s, from: lo, to: hi, length: length)
                lo = a; hi = a + length
            }
            let moment = (Double(lo), min(last, Double(hi)))
            // Pad to the shortest window: the stronger side first, the lead-up on a tie.
            while Double(hi - lo) < minLength {
                let left = lo > 0 ? s[lo - 1] : -Double.infinity
                let right = Double(hi) < last ? s[hi] : -Double.infinity
                if left == -.infinity && right == -.infinity { break }
                if left >= right { lo -= 1 } else { hi += 1 }
            }
            let start = snapped(Double(lo), to: snapPoints, within: snap, limit: (0, moment.0))
            let end = snapped(min(Double(hi), last), to: snapPoints, within: snap, limit: (moment.1, last))
            let (a, b) = indices(start, end, n)
            guard a < b, mean(s, a, b) >= minScore else { continue }
            shaped.append((start, end, moment))
        }
        // Windows that touch (or nearly: a cut this close would snap them together) are one.
        let joined = merged(shaped.map { ($0.start, $0.end) }, gap: max(1, snap))
        return joined.map { range in
            let inside = shaped.filter { $0.start >= range.0 && $0.end <= range.1 }
            let momentStart = inside.map(\.moment.0).min() ?? range.0, momentEnd = inside.map(\.moment.1).max() ?? range.1
            return window(scored, start: range.0, end: range.1, moment: (momentStart, momentEnd), minScore: minScore)
        }
    }

    /// The window over [start, end] holding the moment: its score, centre of mass and reasons.
    static func window(_ scored: Scoring.Scored, start: Double, end: Double, moment: (Double, Double), minScore: Double) -> Window {
        let s = scored.total
        let (a, b) = indices(start, end, s.count)
        // Centre of mass of the seconds above the bar inside the moment (all of it if none are).
        let (ma, mb) = indices(moment.0, moment.1, s.count)
        var weight = 0.0, sum = 0.0
        for i in ma..<max(ma, mb) where s[i] >= minScore { weight += s[i]; sum += s[i] * (Double(i) + 0.5) }
        let peak = weight > 0 ? sum / weight : (moment.0 + moment.1) / 2
        let at = min(max(0, Int(peak)), max(0, s.count - 1))
        var signals: [String: Double] = [:]
        for (name, z) in scored.parts where at < z.count { signals[name] = (z[at] * 100).rounded() / 100 }
        let reasons = signals.filter { $0.value >= 1 }.sorted { $0.value > $1.value }
            .map { String(format: "%@ %.1f× its usual spread above the local baseline", $0.key, $0.value) }
        let peakScore = at < s.count ? s[at] : 0
        return Window(start: start, end: end, momentStart: moment.0, momentEnd: moment.1, peak: (peak * 100).rounded() / 100,
                      score: ((a < b ? mean(s, a, b) : 0) * 100).rounded() / 100, signals: signals,
                      reasons: reasons.isEmpty ? ["combined score \(String(format: "%.1f", peakScore))"] : reasons)
    }

    /// Sorted, with ranges closer than `gap` joined.
    static func merged(_ ranges: [(Double, Double)], gap: Double) -> [(Double, Double)] {
        var out: [(Double, Double)] = []
        for r in ranges.sorted(by: { $0.0 < $1.0 }) {
            if let lastRange = out.last, r.0 - lastRange.1 < gap || r.0 <= lastRange.1 {
                out[out.count - 1].1 = max(lastRange.1, r.1)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The seconds [a, b) a stretch [start, end) covers.
    static func indices(_ start: Double, _ end: Double, _ n: Int) -> (Int, Int) {
        let a = min(n, max(0, Int(start)))
        return (a, min(n, max(a, Int(end.rounded(.up)))))
    }

    static func mean(_ s: [Double], _ a: Int, _ b: Int) -> Double {
        s[a..<b].reduce(0, +) / Double(b - a)
    }

    /// The start of the best-scoring `length` seconds inside [from, to).
    static func bestStart(_ s: [Double], from: Int, to: Int, length: Int) -> Int {
        guard to - from > length, length > 0 else { return from }
        var sum = s[from..<from + length].reduce(0, +), best = sum, at = from
        for a in (from + 1)...(to - length) {
            sum += s[a + length - 1] - s[a - 1]
            if sum > best { best = sum; at = a }
        }
        return at
    }

    /// The snap point nearest `t` within `within`, kept inside `limit`; `t` itself if none.
    static func snapped(_ t: Double, to points: [Double], within: Double, limit: (Double, Double)) -> Double {
        let near = points.filter { abs($0 - t) <= within && $0 >= limit.0 && $0 <= limit.1 }
        return near.min { abs($0 - t) < abs($1 - t) } ?? min(max(t, limit.0), limit.1)
    }
}
