import Foundation
import RepriseProfiles

/// How long a recording's reel may be. The recipe's `reel.min/target/max` are for a long stream
/// (one whose 12 % is the max: 4 h 10 min for the default 30-min max); a shorter recording's scale
/// down in proportion, so its reel stays within 12 % of it (the default target: 8 %).
public struct ReelLength: Sendable, Equatable, Encodable {
    public var min: Double
    public var target: Double
    public var max: Double

    public static func of(recipe: Recipe, duration: Double) -> ReelLength {
        let fullLength = recipe.reelMax / 0.12
        let scale = Swift.min(1, Swift.max(0, duration) / fullLength)
        return ReelLength(min: recipe.reelMin * scale, target: recipe.reelTarget * scale, max: recipe.reelMax * scale)
    }
}

/// What a recording's forms are made of: every moment that clears the bar, the reel's share of
/// them, the teaser, the shorts and the product clips, with notes on anything short or left out.
public struct HighlightPicks: Sendable {
    /// Every window that clears `windows.min_score`, in time order.
    public var moments: [Window]
    /// The reel's windows, in time order: moments only, their padding trimmed when they run long.
    public var reel: [Window]
    public var teaser: [[Double]]
    /// Strongest first; each from a moment.
    public var shorts: [Window]
    public var productClips: [ProductClips.Clip]
    public var reelLength: ReelLength
    public var notes: [String]
}

/// Picks the moments and shapes them into the recipe's forms, from the scored seconds alone (no
/// media), so a plan is cheap to make and to test.
public enum HighlightPicker {
    public static func pick(_ scored: Scoring.Scored, series: SignalSeries, duration: Double, products: [ProductSpan],
                            recipe: Recipe) -> HighlightPicks {
        var notes: [String] = []
        let moments = WindowShaper.moments(scored, series: series, minLength: recipe.windowMin, maxLength: recipe.windowMax,
                                           snap: recipe.snapSeconds, minScore: recipe.minScore, end: duration)
        let length = ReelLength.of(recipe: recipe, duration: duration)
        if moments.isEmpty {
            notes.append(String(format: "no moment clears windows.min_score (%.2g): no reel, teaser or shorts; nothing weaker is used instead",
                                recipe.minScore))
        }
        let teaserLength = recipe.teaserBeforeReel ? recipe.teaserSeconds : 0
        let fitted = fitReel(moments, length: length, teaser: teaserLength)
        let reel = fitted.reel.map { w in
            WindowShaper.window(scored, start: w.start, end: w.end, moment: (w.momentStart, w.momentEnd), minScore: recipe.minScore)
        }
        if fitted.left > 0 {
            notes.append(String(format: "%d weaker moment%@ left out of the reel to hold it to %.0f s (a %@ recording)", fitted.left,
                                fitted.left == 1 ? "" : "s", length.max, clock(duration)))
        }
        let reelSeconds = reel.reduce(0) { $0 + $1.duration } + (reel.isEmpty ? 0 : teaserLength)
        if !reel.isEmpty && reelSeconds < length.min {
            notes.append(String(format: "few stand-out moments: the reel is %.0f s of %d, under the %.0f–%.0f s a %@ recording would get; nothing weaker was added",
                                reelSeconds, reel.count, length.min, length.target, clock(duration)))
        }

        // Teaser: short snippets around the strongest peaks, in the order of their strength.
        var teaser: [[Double]] = []
        if recipe.teaserSeconds > 0, !reel.isEmpty {
            let strongest = reel.sorted { $0.score > $1.score }.prefix(recipe.teaserSnippets)
            let each = recipe.teaserSeconds / Double(strongest.count)
            teaser = strongest.map { w in
                let s = min(max(w.start, w.peak - each / 2), max(w.start, w.end - each))
                return [s, min(w.end, s + each)]
            }
        }
        // Shorts: the strongest moments, at short-video lengths.
        var shorts: [Window] = []
        if recipe.makeShorts && recipe.shortsCount > 0 {
            shorts = moments.sorted { $0.score > $1.score }.prefix(recipe.shortsCount).map {
                short(from: $0, scored: scored, minLength: recipe.shortsMin, maxLength: recipe.shortsMax, duration: duration,
                      minScore: recipe.minScore)
            }
        }
        var clips: [ProductClips.Clip] = []
        if recipe.makeProductClips {
            let planned = ProductClips.plan(products, recipe: recipe, duration: duration, score: scored.total)
            clips = planned.clips
            notes += planned.notes
        }
        return HighlightPicks(moments: moments, reel: reel, teaser: teaser, shorts: shorts, productClips: clips,
                              reelLength: length, notes: notes)
    }

    /// The strongest moments whose moments (padding aside) fit `length.max`, in time order; their
    /// padding shrunk in proportion when the whole runs past `length.target`. The strongest moment
    /// is kept even when it alone is longer.
    static func fitReel(_ moments: [Window], length: ReelLength, teaser: Double) -> (reel: [Window], left: Int) {
        var chosen: [Window] = [], left = 0
        var cores = teaser
        for w in moments.sorted(by: { $0.score > $1.score }) {
            if chosen.isEmpty || cores + w.momentDuration <= length.max {
                chosen.append(w); cores += w.momentDuration
            } else {
                left += 1
            }
        }
        let total = chosen.reduce(teaser) { $0 + $1.duration }
        let goal = max(length.target, cores)
        if total > goal && total > cores {
            let kept = (goal - cores) / (total - cores)
            chosen = chosen.map { w in
                var w = w
                w.start = ((w.momentStart - (w.momentStart - w.start) * kept) * 100).rounded(.up) / 100
                w.end = ((w.momentEnd + (w.end - w.momentEnd) * kept) * 100).rounded(.down) / 100
                return w
            }
        }
        return (chosen.sorted { $0.start < $1.start }, left)
    }

    /// A short from a moment: the window grown about its middle to `minLength`, or, over
    /// `maxLength`, the stretch holding the moment (its strongest part when it alone is longer).
    static func short(from w: Window, scored: Scoring.Scored, minLength: Double, maxLength: Double, duration: Double,
                      minScore: Double) -> Window {
        let length = min(max(w.duration, minLength), maxLength, duration)
        var start: Double
        if w.duration > length {
            if w.momentDuration <= length {
                start = min(max(w.momentStart - (length - w.momentDuration) / 2, w.start), w.end - length)
            } else {
                let a = Int(w.momentStart), b = min(scored.total.count, Int(w.momentEnd.rounded(.up)))
                start = Double(WindowShaper.bestStart(scored.total, from: a, to: b, length: Int(length)))
            }
        } else {
            start = w.start - (length - w.duration) / 2
        }
        start = min(max(0, start), max(0, duration - length))
        let end = start + length
        let moment = (max(start, w.momentStart), min(end, w.momentEnd))
        return WindowShaper.window(scored, start: start, end: end, moment: moment.0 < moment.1 ? moment : (start, end), minScore: minScore)
    }

    /// "20 min", "2 h 05 min": a recording's length, for notes.
    static func clock(_ seconds: Double) -> String {
        let minutes = Int((seconds / 60).rounded())
        return minutes < 60 ? "\(minutes)-min" : String(format: "%d h %02d min", minutes / 60, minutes % 60)
    }
}
