import Yams
import Foundation
/// What to make of one recording and how to pick its moments (`Profiles/recipe-*.yaml`).
/// Loaded by `RecipeLoader`; every field has a default, so a recipe file names only what it changes.
public struct Recipe: Sendable, Equatable {
    /// How much each signal counts in the combined score (each signal is first scored against
    /// its own local baseline, so the weights compare like with like).
    public struct Weights: Sendable, Equatable {
        public var chat: Double = 1.0
        public var orders: Double = 1.5
        public var orderValue: Double = 0.5
        public var loudness: Double = 0.5
        public var scene: Double = 0.3
        public init() {}
    }

    public var name = "recipe-default"
    public var weights = Weights()
    /// The local baseline: a burst is what stands out from this many seconds around it.
    public var baselineSeconds: Double = 600
    /// Orders follow the moment that caused them: order signals are moved this much earlier.
    public var orderLagSeconds: Double = 30
    /// Windows: a moment shorter than `windowMin` is padded to it; a single rush longer than
    /// `windowMax` keeps its strongest stretch.
    public var windowMin: Double = 30
    public var windowMax: Double = 120
    /// Start and end move to a scene cut or a pause in speech within this distance.
    public var snapSeconds: Double = 4
    /// The bar: a moment is a run of seconds whose combined z-score reaches this, and a window
    /// whose mean score falls below it is not worth keeping.
    public var minScore: Double = 1.0
    /// The reel's length (seconds) for a long stream, scaled down for a shorter recording
    /// (`ReelLength`): moments only, their padding trimmed past `reelTarget`, the weakest left out
    /// past `reelMax`; under `reelMin` only when there are too few moments (never filled).
    public var reelMin: Double = 15 * 60
    public var reelTarget: Double = 20 * 60
    public var reelMax: Double = 30 * 60
    /// Product clips: the presentation plus a lead-in from time no other product holds; over
    /// `productMax` its best stretch, under `productMin` made anyway (or skipped) with a note.
    public var productLeadIn: Double = 15
    public var productMin: Double = 180
    public var productMax: Double = 600
    /// A presentation shorter than `productMin` is skipped rather than made short (with a note either way).
    public var productSkipShort = false
    /// Shorts: the top `shortsCount` windows, each [shortsMin, shortsMax] long, through `shortsProfile`.
    public var shortsCount = 3
    public var shortsMin: Double = 30
    public var shortsMax: Double = 180
    public var shortsProfile = "vertical-short"
    /// The opening teaser: `teaserSeconds` made of `teaserSnippets` of the strongest moments.
    public var teaserSeconds: Double = 3
    public var teaserSnippets = 3
    public var teaserBeforeReel = true
    /// Title template: {shop}, {date}, {product}, {form}.
    public var titleTemplate = "{shop} {date} {form}{product}"
    public var shop = "Live replay"
    /// Forms to make.
    public var makeReel = true
    public var makeProductClips = true
    public var makeShorts = true
    public var makeCovers = true

    public init() {}
}


/// Reads `recipe-*.yaml`. Every problem names the file, the line, the field and what is allowed.
public enum RecipeLoader {
    public static func load(path: String) throws -> Recipe {
        let r = try ProfileReader.open(path: path, what: "recipe fields")
        try r.rejectUnknown(["name", "description", "shop", "title", "weights", "baseline_seconds", "order_lag_seconds", "windows",
                             "reel", "product_clips", "shorts", "teaser", "covers"])
        var recipe = Recipe()
        recipe.name = try r.string("name") ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        recipe.shop = try r.string("shop") ?? recipe.shop
        recipe.titleTemplate = try r.string("title") ?? recipe.titleTemplate
        recipe.baselineSeconds = try r.number("baseline_seconds", range: 30...7200) ?? recipe.baselineSeconds
        recipe.orderLagSeconds = try r.number("order_lag_seconds", range: 0...600) ?? recipe.orderLagSeconds
        if let w = try r.section("weights") {
            try w.rejectUnknown(["chat", "orders", "order_value", "loudness", "scene"])
            recipe.weights.chat = try w.number("chat", range: 0...100) ?? recipe.weights.chat
            recipe.weights.orders = try w.number("orders", range: 0...100) ?? recipe.weights.orders
            recipe.weights.orderValue = try w.number("order_value", range: 0...100) ?? recipe.weights.orderValue
            recipe.weights.loudness = try w.number("loudness", range: 0...100) ?? recipe.weights.loudness
            recipe.weights.scene = try w.number("scene", range: 0...100) ?? recipe.weights.scene
        }
        if let w = try r.section("windows") {
            try w.rejectUnknown(["min", "max", "snap", "min_score"])
            recipe.windowMin = try w.number("min", range: 1...3600) ?? recipe.windowMin
            recipe.windowMax = try w.number("max", range: 1...3600) ?? recipe.windowMax
            recipe.snapSeconds = try w.number("snap", range: 0...60) ?? recipe.snapSeconds
            recipe.minScore = try w.number("min_score", range: 0...100) ?? recipe.minScore
            if recipe.windowMin > recipe.windowMax { throw w.error("min", w.node("min"), "is longer than max (\(recipe.windowMax))") }
        }
        if let s = try r.section("reel") {
            try s.rejectUnknown(["make", "min", "target", "max"])
            recipe.makeReel = try s.bool("make") ?? true
            recipe.reelMin = try s.number("min", range: 0...36000) ?? recipe.reelMin
            recipe.reelTarget = try s.number("target", range: 1...36000) ?? recipe.reelTarget
            recipe.reelMax = try s.number("max", range: 1...36000) ?? recipe.reelMax
            if !(recipe.reelMin <= recipe.reelTarget && recipe.reelTarget <= recipe.reelMax) {
                throw s.error("target", s.node("target"), "must lie between min and max")
            }
        }
        if let s = try r.section("product_clips") {
            try s.rejectUnknown(["make", "lead_in", "min", "max", "skip_short"])
            recipe.makeProductClips = try s.bool("make") ?? true
            recipe.productLeadIn = try s.number("lead_in", range: 0...600) ?? recipe.productLeadIn
            recipe.productMin = try s.number("min", range: 1...36000) ?? recipe.productMin
            recipe.productMax = try s.number("max", range: 1...36000) ?? recipe.productMax
            recipe.productSkipShort = try s.bool("skip_short") ?? recipe.productSkipShort
            if recipe.productMin > recipe.productMax { throw s.error("min", s.node("min"), "is longer than max (\(recipe.productMax))") }
        }
        if let s = try r.section("shorts") {
            try s.rejectUnknown(["make", "count", "min", "max", "profile"])
            recipe.makeShorts = try s.bool("make") ?? true
            recipe.shortsCount = try s.integer("count", range: 0...50) ?? recipe.shortsCount
            recipe.shortsMin = try s.number("min", range: 1...3600) ?? recipe.shortsMin
            recipe.shortsMax = try s.number("max", range: 1...3600) ?? recipe.shortsMax
            recipe.shortsProfile = try s.string("profile") ?? recipe.shortsProfile
            if recipe.shortsMin > recipe.shortsMax { throw s.error("min", s.node("min"), "is longer than max (\(recipe.shortsMax))") }
        }
        if let s = try r.section("teaser") {
            try s.rejectUnknown(["seconds", "snippets", "before_reel"])
            recipe.teaserSeconds = try s.number("seconds", range: 0...30) ?? recipe.teaserSeconds
            recipe.teaserSnippets = try s.integer("snippets", range: 1...10) ?? recipe.teaserSnippets
            recipe.teaserBeforeReel = try s.bool("before_reel") ?? recipe.teaserBeforeReel
        }
        if let s = try r.section("covers") {
            try s.rejectUnknown(["make"])
            recipe.makeCovers = try s.bool("make") ?? true
        }
        return recipe
    }

    /// `recipe-NAME.yaml` (or NAME) in the profile folders, later folders first.
    public static func find(_ name: String, folders: [String]) throws -> Recipe? {
        for folder in folders.reversed() {
            for file in [name, "recipe-\(name)"].flatMap({ ["\($0).yaml", "\($0).yml"] }) {
                let path = (folder as NSString).appendingPathComponent(file)
                if FileManager.default.fileExists(atPath: path) { return try load(path: path) }
            }
        }
        return nil
    }
}
