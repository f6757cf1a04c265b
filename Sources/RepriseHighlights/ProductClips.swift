import Foundation
import RepriseProfiles

/// A clip per product presentation: the whole presentation, plus a lead-in taken only from time
/// no other product is on screen. Over `product_clips.max` it keeps its best-scoring stretch; under
/// `product_clips.min` it is made anyway with a note, or skipped when the recipe says `skip_short`.
public enum ProductClips {
    public struct Clip: Sendable, Equatable {
        public var product: ProductSpan
        public var range: [Double]
    }

    public static func plan(_ spans: [ProductSpan], recipe: Recipe, duration: Double, score: [Double]) -> (clips: [Clip], notes: [String]) {
        var clips: [Clip] = [], notes: [String] = []
        for (k, p) in spans.enumerated() {
            let others = spans.enumerated().filter { $0.offset != k }.map(\.element)
            guard let range = range(p, others: others, recipe: recipe, duration: duration, score: score) else {
                notes.append("product '\(p.title)' (\(seconds(p.start))–\(seconds(p.end))) is not inside the recording: no clip")
                continue
            }
            let length = range[1] - range[0]
            if length < recipe.productMin {
                let what = "product '\(p.title)': its presentation with lead-in is \(seconds(length)), shorter than product_clips.min (\(seconds(recipe.productMin)))"
                if recipe.productSkipShort { notes.append(what + ": skipped (product_clips.skip_short)"); continue }
                notes.append(what + ": made anyway, never padded with another product's time")
            }
            clips.append(Clip(product: p, range: range))
        }
        return (clips, notes)
    }

    /// The clip of `p`, or nil when the presentation lies outside the recording.
    public static func range(_ p: ProductSpan, others: [ProductSpan], recipe: Recipe, duration: Double, score: [Double]) -> [Double]? {
        let own = (max(0, p.start), min(duration, p.end))
        guard own.1 > own.0 else { return nil }
        // The lead-in stops where another product's time ends (or, overlapping, at the presentation).
        var start = max(0, own.0 - recipe.productLeadIn)
        for q in others where q.start < own.0 && q.end > start { start = min(max(start, q.end), own.0) }
        var end = own.1
        if end - start > recipe.productMax {
            let length = Int(recipe.productMax)
            let a = max(0, Int(start.rounded(.up))), b = min(score.count, Int(end))
            if b - a > length {
                let best = WindowShaper.bestStart(score, from: a, to: b, length: length)
                start = Double(best); end = Double(best + length)
            } else {
                end = start + recipe.productMax
            }
        }
        return [start, end]
    }

    static func seconds(_ t: Double) -> String { String(format: "%.0f s", t) }
}
