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
        /// Each burst of the moment's own signals (chat, loudness, scene) that orders followed
        /// within the order lag, stretched to the end of those orders: one moment, never two.
        public var ties: [Range<Int>] = []
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
    /// - Parameters:
    ///   - x: the (smoothed) series to score.
    ///   - raw: the series before smoothing, whose second-to-second spread sets the scale: then
    ///     the mean score over a stretch is the excess it holds over the spread of one second, so
    ///     smoothed noise doesn't pass for a moment. Without it, `x`'s own spread.
    ///   - minimumSpread: the least spread allowed (for counts, their Poisson noise).
    public static func localZ(_ x: [Double], raw: [Double]? = nil, window: Double, minimumSpread: Double = 0) -> [Double] {
        guard !x.isEmpty else { return [] }
        let block = 10
        let noise = raw.map { $0.count == x.count ? $0 : x } ?? x
        // Per block: the median and the median distance from it of its seconds. The baseline is
        // the median of the blocks around; the spread the median of their spreads — so a burst
        // inside the window moves neither, and second-to-second noise sets the scale.
        let blocks = stride(from: 0, to: x.count, by: block).map { start -> (level: Double, spread: Double) in
            let v = Array(x[start..<min(x.count, start + block)])
            let r = Array(noise[start..<min(x.count, start + block)])
            let m = median(r)
            return (median(v), median(r.map { abs($0 - m) }))
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
        let floor = max(1e-6, 0.5 * overall, 0.02 * (x.max() ?? 0), minimumSpread)
        return x.indices.map { i in
            let b = i / block
            return min(20, max(0, (x[i] - base[b]) / max(spread[b], floor)))
        }
    }

    /// The Poisson noise of a count of events per second: √rate, at least that of one event
    /// per `width` seconds (so a lone message or order in a quiet stream is no moment).
    static func countNoise(_ counts: [Double], width: Int) -> Double {
        guard !counts.isEmpty else { return 0 }
        return (max(counts.reduce(0, +) / Double(counts.count), 1 / Double(max(1, width)))).squareRoot()
    }

    static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Maximal runs of seconds scoring at least `bar`.
    public static func runs(_ x: [Double], atLeast bar: Double) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start: Int? = nil
        for i in x.indices {
            if x[i] >= bar { if start == nil { start = i } } else if let s = start { out.append(s..<i); start = nil }
        }
        if let s = start { out.append(s..<x.count) }
        return out
    }

    public static func score(_ series: SignalSeries, recipe: Recipe) -> Scored {
        let n = series.seconds
        var parts: [String: [Double]] = [:]
        var total = [Double](repeating: 0, count: n)
        func add(_ name: String, _ x: [Double]?, weight: Double, smoothing: Int, minimumSpread: Double = 0) {
            guard let x, x.count == n, weight > 0 else { return }
            let z = localZ(smooth(x, radius: smoothing), raw: x, window: recipe.baselineSeconds, minimumSpread: minimumSpread)
            parts[name] = z
            for i in 0..<n { total[i] += weight * z[i] }
        }
        // Smoothing in proportion to the shortest window: a burst is a few seconds of a window,
        // orders trickle in over longer.
        let short = max(1, Int(recipe.windowMin / 6)), long = max(1, Int(recipe.windowMin / 3))
        add("chat", series.chat, weight: recipe.weights.chat, smoothing: short,
            minimumSpread: series.chat.map { countNoise($0, width: 2 * short + 1) } ?? 0)
        // Loudness in LUFS: shift so silence is 0 before scoring.
        add("loudness", series.loudness.map { $0.map { max(0, $0 + 70) } }, weight: recipe.weights.loudness, smoothing: max(1, short / 2))
        add("scene", series.scene, weight: recipe.weights.scene, smoothing: short)
        // Orders follow the moment that caused them. Those arriving within the lag of a burst the
        // viewers made themselves belong to it and stay where they are (the window shows them come
        // in); the others mark an unseen cause the lag earlier.
        let lag = max(0, Int(recipe.orderLagSeconds.rounded()))
        let bursts = runs(total, atLeast: recipe.minScore)
        var target = Array(0..<n)
        var b = 0
        for i in 0..<n {
            while b < bursts.count && bursts[b].upperBound + lag <= i { b += 1 }
            if !(b < bursts.count && bursts[b].lowerBound <= i) { target[i] = i - lag }
        }
        func placed(_ x: [Double]?) -> [Double]? {
            guard let x, x.count == n else { return nil }
            var out = [Double](repeating: 0, count: n)
            for i in 0..<n where target[i] >= 0 { out[target[i]] += x[i] }
            return out
        }
        let orderNoise = series.orders.map { countNoise($0, width: 2 * long + 1) } ?? 0
        // An order's amount: its noise is the count's, in money.
        let orderCount = series.orders?.reduce(0, +) ?? 0
        let meanAmount = orderCount > 0 ? (series.orderValue?.reduce(0, +) ?? 0) / orderCount : 0
        add("orders", placed(series.orders), weight: recipe.weights.orders, smoothing: long, minimumSpread: orderNoise)
        add("orderValue", placed(series.orderValue), weight: recipe.weights.orderValue, smoothing: long,
            minimumSpread: meanAmount * orderNoise)
        // A burst's orders that stand out on their own, even after a lull, join its moment.
        var ties: [Range<Int>] = []
        if let z = parts["orders"] {
            let weighted = z.map { $0 * recipe.weights.orders }
            for burst in bursts {
                let reach = burst.lowerBound..<min(n, burst.upperBound + lag)
                let rushes = runs(weighted, atLeast: recipe.minScore).filter { $0.overlaps(reach) }
                if let last = rushes.map(\.upperBound).max(), last > burst.upperBound { ties.append(burst.lowerBound..<last) }
            }
        }
        return Scored(total: total, parts: parts, ties: ties)
    }
}
