import Foundation
import RepriseProfiles

/// Per-second signal series of one recording. Index i covers [i, i+1) s.
public struct SignalSeries: Sendable, Equatable {
    public var seconds: Int
    public var chat: [Double]?
    public var orders: [Double]?
    public var orderValue: [Double]?
    /// Loudest momentary loudness (LUFS) in each second, −70 for silence.
    public var loudness: [Double]?
    /// Scene-change score (0–100) at each second.
    public var scene: [Double]?
    /// Times of scene cuts and of pauses in speech (seconds), where windows like to start and end.
    public var sceneCuts: [Double] = []
    public var pauses: [Double] = []

    public init(seconds: Int) { self.seconds = max(0, seconds) }

    /// Counts events per second (and optionally sums a value).
    public static func bins(_ times: [Double], seconds: Int, values: [Double]? = nil) -> [Double] {
        var out = [Double](repeating: 0, count: seconds)
        for (n, t) in times.enumerated() where t >= 0 && t < Double(seconds) {
            out[Int(t)] += values?[n] ?? 1
        }
        return out
    }
}

/// Scores each signal against its own local baseline (a robust z-score: distance from the
/// running median in running-MAD units), then combines them with the recipe's weights.
public enum Scoring {
    public struct Scored: Sendable {
        /// Combined score per second.
        public var total: [Double]
        /// Each signal's own z-score per second (for the reasons and the timeline).
        public var parts: [String: [Double]]
    }

    /// Running mean over ±radius seconds (bursts of chat are spread over a few seconds).
    public static func smooth(_ x: [Double], radius: Int) -> [Double] {
        guard radius > 0, !x.isEmpty else { return x }
        var prefix = [0.0]
        prefix.reserveCapacity(x.count + 1)
        for v in x { prefix.append(prefix.last! + v) }
        return x.indices.map { i in
            let lo = max(0, i - radius), hi = min(x.count, i + radius + 1)
            return (prefix[hi] - prefix[lo]) / Double(hi - lo)
        }
    }

    /// Robust z-scores against the baseline of the `window` seconds around each second. Computed
    /// on 10-second blocks (median per block, then the median of the blocks around), so a 3-hour
    /// recording scores in milliseconds. Negative scores (quieter than usual) count as 0.
    public static func localZ(_ x: [Double], window: Double) -> [Double] {
        guard !x.isEmpty else { return [] }
        let block = 10
        // Per block: the median and the median distance from it of its seconds. The baseline is
        // the median of the blocks around; the spread the median of their spreads — so a burst
        // inside the window moves neither, and second-to-second noise sets the scale.
        let blocks = stride(from: 0, to: x.count, by: block).map { start -> (level: Double, spread: Double) in
            let v = Array(x[start..<min(x.count, start + block)])
            let m = median(v)
            return (m, median(v.map { abs($0 - m) }))
        }
        let radius = max(1, Int(window / Double(block) / 2))
        var base = [Double](repeating: 0, count: blocks.count), spread = base
        for b in blocks.indices {
            let around = blocks[max(0, b - radius)..<min(blocks.count, b + radius + 1)]
            base[b] = median(around.map(\.level))
            spread[b] = 1.4826 * median(around.map(\.spread))
        }
        // A floor on the spread: a flat baseline must not turn every small blip into a huge score.
        let centre = median(x)
        let overall = 1.4826 * median(x.map { abs($0 - centre) })
        let floor = max(1e-6, 0.5 * overall, 0.02 * (x.max() ?? 0))
        return x.indices.map { i in
            let b = i / block
            return min(20, max(0, (x[i] - base[b]) / max(spread[b], floor)))
        }
    }

    static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public static func score(_ series: SignalSeries, recipe: Recipe) -> Scored {
        let n = series.seconds
        var parts: [String: [Double]] = [:]
        var total = [Double](repeating: 0, count: n)
        func add(_ name: String, _ x: [Double]?, weight: Double, smoothing: Int, shift: Int = 0) {
            guard let x, x.count == n, weight > 0 else { return }
            var v = smooth(x, radius: smoothing)
            if shift > 0 { v = Array(v.dropFirst(min(shift, v.count))) + [Double](repeating: 0, count: min(shift, v.count)) }
            let z = localZ(v, window: recipe.baselineSeconds)
            parts[name] = z
            for i in 0..<n { total[i] += weight * z[i] }
        }
        let lag = Int(recipe.orderLagSeconds.rounded())
        // Smoothing in proportion to the shortest window: a burst is a few seconds of a window,
        // orders trickle in over longer.
        let short = max(1, Int(recipe.windowMin / 6)), long = max(1, Int(recipe.windowMin / 3))
        add("chat", series.chat, weight: recipe.weights.chat, smoothing: short)
        add("orders", series.orders, weight: recipe.weights.orders, smoothing: long, shift: lag)
        add("orderValue", series.orderValue, weight: recipe.weights.orderValue, smoothing: long, shift: lag)
        // Loudness in LUFS: shift so silence is 0 before scoring.
        add("loudness", series.loudness.map { $0.map { max(0, $0 + 70) } }, weight: recipe.weights.loudness, smoothing: max(1, short / 2))
        add("scene", series.scene, weight: recipe.weights.scene, smoothing: short)
        return Scored(total: total, parts: parts)
    }
}

/// A stretch of the recording worth keeping, with why.
public struct Window: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    /// The second it was grown around.
    public var peak: Double
    /// Mean combined score over the window.
    public var score: Double
    /// Each signal's z-score at the peak (what made it stand out).
    public var signals: [String: Double]
    public var reasons: [String]
    public var duration: Double { end - start }
}

/// Grows windows around the strongest peaks, snaps their edges to scene cuts or pauses, keeps
/// them within [min, max] long and apart from each other.
public enum WindowShaper {
    /// - Parameters:
    ///   - budget: stop once the windows add up to this many seconds.
    ///   - count: at most this many windows.
    public static func pick(_ scored: Scoring.Scored, series: SignalSeries, minLength: Double, maxLength: Double,
                            snap: Double, minScore: Double, budget: Double, count: Int = .max,
                            avoiding taken: [Window] = [], end recordingEnd: Double? = nil) -> [Window] {
        let s = scored.total
        let n = s.count
        // The last second's bin may reach past the recording's end (a duration of 20.02 s has 21 bins).
        let last = min(Double(n), recordingEnd ?? Double(n))
        guard n > 0, minLength > 0 else { return [] }
        var used = [Bool](repeating: false, count: n)
        // Peaks this close to a window are the tail of the same moment, not a new one.
        let gap = minLength
        var near = [Bool](repeating: false, count: n)
        for w in taken { mark(&used, w.start, w.end); mark(&near, w.start - gap, w.end + gap) }
        let order = s.indices.sorted { s[$0] > s[$1] }
        var windows: [Window] = []
        var total = 0.0
        let snapPoints = (series.sceneCuts + series.pauses).sorted()
        for peak in order {
            guard windows.count < count, total < budget else { break }
            guard s[peak] >= minScore, !used[peak], !near[peak] else { continue }
            // Grow from the peak: take the stronger neighbour while the window is short, and
            // keep growing while the neighbours stay above half the peak, up to maxLength.
            var lo = peak, hi = peak + 1
            let floor = 0.5 * s[peak]
            while Double(hi - lo) < maxLength {
                let left = lo > 0 && !used[lo - 1] ? s[lo - 1] : -Double.infinity
                let right = hi < n && !used[hi] ? s[hi] : -Double.infinity
                if left == -.infinity && right == -.infinity { break }
                if Double(hi - lo) >= minLength && max(left, right) < floor { break }
                if left >= right { lo -= 1 } else { hi += 1 }
            }
            var start = Double(lo), end = Double(hi)
            start = snapped(start, to: snapPoints, within: snap, limit: (0, Double(peak)))
            end = snapped(end, to: snapPoints, within: snap, limit: (min(Double(peak + 1), last), last))
            // Keep clear of windows already taken (snapping may have moved an edge into one).
            for w in windows + taken {
                if w.end > start && w.end <= Double(peak) { start = w.end }
                if w.start < end && w.start > Double(peak) { end = w.start }
            }
            guard end - start >= minLength * 0.999 else { continue }
            if end - start > maxLength {
                // Keep the peak inside when snapping moved the start far back.
                end = min(max(Double(peak + 1), start + maxLength), last)
                start = end - maxLength
            }
            let a = Int(start), b = max(a + 1, Int(end.rounded(.up)))
            let mean = s[a..<min(n, b)].reduce(0, +) / Double(min(n, b) - a)
            // A one-second blip is not a moment: the window as a whole must stand out too.
            guard mean >= 0.5 * minScore else { mark(&near, start, end); continue }
            var signals: [String: Double] = [:]
            for (name, z) in scored.parts { signals[name] = (z[peak] * 100).rounded() / 100 }
            let reasons = signals.filter { $0.value >= 1 }.sorted { $0.value > $1.value }
                .map { String(format: "%@ %.1f× its usual spread above the local baseline", $0.key, $0.value) }
            windows.append(Window(start: start, end: end, peak: Double(peak), score: (mean * 100).rounded() / 100,
                                  signals: signals, reasons: reasons.isEmpty ? ["combined score \(String(format: "%.1f", s[peak]))"] : reasons))
            mark(&used, start, end)
            mark(&near, start - gap, end + gap)
            total += end - start
        }
        return windows
    }

    static func mark(_ used: inout [Bool], _ start: Double, _ end: Double) {
        let a = max(0, Int(start)), b = min(used.count, Int(end.rounded(.up)))
        if a < b { for i in a..<b { used[i] = true } }
    }

    /// The snap point nearest `t` within `within`, kept inside `limit`; `t` itself if none.
    static func snapped(_ t: Double, to points: [Double], within: Double, limit: (Double, Double)) -> Double {
        let near = points.filter { abs($0 - t) <= within && $0 >= limit.0 && $0 <= limit.1 }
        return near.min { abs($0 - t) < abs($1 - t) } ?? min(max(t, limit.0), limit.1)
    }
}
