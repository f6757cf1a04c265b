import Foundation
import RepriseCut
import RepriseMedia
import RepriseProfiles
import RepriseTranscode

public struct HighlightsRequest: Sendable {
    public var input: String
    public var output: String
    public var recipe: Recipe
    public var chat: String?
    public var orders: String?
    public var products: String?
    /// When the recording started, as written (ISO 8601, `YYYY-MM-DD HH:MM:SS` read in `timeZone`,
    /// or Unix epoch seconds or milliseconds), for wall-clock times in signal files; nil to take
    /// the recording's own creation time.
    public var recordingStart: String?
    /// The zone of wall-clock times written without one; nil for the zone the recording's creation
    /// time is written in, else the machine's.
    public var timeZone: SignalTimeZone?
    public var planOnly = false
    /// Folders profiles are looked up in (for the shorts' profile).
    public var profileFolders: [String] = []
    /// Corrections made in the review console (the reel's windows), applied over the picks.
    public var overrides: PlanOverrides?
    public init(input: String, output: String, recipe: Recipe) { self.input = input; self.output = output; self.recipe = recipe }
}

/// The plan (and, once made, the outputs): what was read, the windows and why, every output.
public struct HighlightsPlan: Encodable, Sendable {
    public struct SignalSummary: Encodable, Sendable {
        public var path: String
        public var items: Int
        public var badLines: [BadLineReport]
        /// How its times were read ("times read as local wall-clock (e.g. …) in Asia/Shanghai (+08:00)").
        public var times: String?
    }
    public struct BadLineReport: Encodable, Sendable { public var line: Int; public var reason: String }
    public struct PlannedWindow: Encodable, Sendable {
        public var start: Double
        public var end: Double
        /// The moment inside (the run above the bar and its tied orders); the rest is padding.
        public var moment: [Double]
        public var peak: Double
        public var score: Double
        public var signals: [String: Double]
        public var reasons: [String]
        public var product: String?
        /// The stretch of it the reel holds (padding trimmed to the reel's length); nil when left out.
        public var reel: [Double]?
    }
    public struct Output: Encodable, Sendable {
        public var form: String
        public var path: String
        public var title: String
        public var ranges: [[Double]]
        public var duration: Double
        public var chapters: [CutChapter]
        public var metadata: String
        public var covers: [String] = []
        public var frames: Int?
        /// The output's strongest moment (recording seconds).
        public var peak: Double
        /// Product titles and the chat's repeated short messages within the output, with their counts.
        public var tags: [Tag] = []
        /// The frame the covers show (recording seconds): inside the output's ranges, and no other
        /// output's cover frame unless both are the same single range.
        public var coverTime: Double?
    }
    public var input: String
    public var duration: Double
    public var recordingStart: String?
    /// Where the recording's start and the zone of zone-less times came from, in words.
    public var times: [String]
    public var signals: [String: SignalSummary]
    public var sceneCuts: Int
    public var pauses: Int
    public var windows: [PlannedWindow]
    /// The reel's length bounds for this recording (the recipe's, scaled to its length).
    public var reelLength: ReelLength
    public var teaser: [[Double]]
    public var outputs: [Output]
    public var timeline: String
    public var notes: [String]
    public var planSeconds: Double
    public var seconds: Double
}

/// Reads the signals, scores the recording, shapes windows, and makes the replay forms: the
/// highlight reel (teaser first, product chapters, smart-cut in one pass), a clip per product,
/// vertical shorts through a profile, covers, metadata sidecars and the timeline picture.
public final class HighlightsEngine {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    public func run(_ request: HighlightsRequest) throws -> HighlightsPlan {
        let started = Date()
        let recipe = request.recipe
        try InputChecks.validate(input: request.input)
        let demuxer: Demuxer
        do { demuxer = try Demuxer(path: request.input) } catch let e as MediaError {
            throw CutError(.notMedia, path: request.input, detail: "not a readable media file (\(e.message))")
        }
        let creationTimes = ["com.apple.quicktime.creationdate", "creation_time"].compactMap { key in demuxer.metadata(key).map { (key, $0) } }
        let clock: SignalClock, timeStatements: [String]
        do {
            (clock, timeStatements) = try SignalClock.forRecording(start: request.recordingStart, zone: request.timeZone,
                                                                    creationTimes: creationTimes)
        } catch let e as SignalTimeError {
            throw CutError(.badTime, path: request.input, detail: e.description)
        }
        let recordingStart = clock.recordingStart
        var notes: [String] = []

        // Signals: named on the command line, or found beside the recording by base name.
        let found = HighlightsEngine.sidecars(for: request.input)
        var summaries: [String: HighlightsPlan.SignalSummary] = [:]
        func summary<T>(_ f: SignalFile<T>) -> HighlightsPlan.SignalSummary {
            for b in f.badLines.prefix(20) { progress?.note("\(f.path):\(b.line): \(b.reason) (line skipped)") }
            if f.badLines.count > 20 { progress?.note("\(f.path): \(f.badLines.count - 20) more lines skipped") }
            if let times = f.times { notes.append("\((f.path as NSString).lastPathComponent): \(times)") }
            return .init(path: f.path, items: f.items.count, badLines: f.badLines.map { .init(line: $0.line, reason: $0.reason) }, times: f.times)
        }
        let chat = try (request.chat ?? found.chat).map { try SignalReader.chat(path: $0, clock: clock) }
        let orders = try (request.orders ?? found.orders).map { try SignalReader.orders(path: $0, clock: clock) }
        let products = try (request.products ?? found.products).map { try SignalReader.products(path: $0, clock: clock) }
        if let chat { summaries["chat"] = summary(chat) }
        if let orders { summaries["orders"] = summary(orders) }
        if let products { summaries["products"] = summary(products) }

        // The recording's own signals.
        let analysis = try RecordingAnalysis.analyse(path: request.input) { [progress] f in progress?.update(stage: "analysing", fraction: f) }
        var series = analysis.series
        let n = series.seconds
        if let chat { series.chat = SignalSeries.bins(chat.items.map(\.time), seconds: n) }
        if let orders {
            series.orders = SignalSeries.bins(orders.items.map(\.time), seconds: n)
            series.orderValue = SignalSeries.bins(orders.items.map(\.time), seconds: n, values: orders.items.map(\.amount))
        }
        if chat == nil && orders == nil { notes.append("no chat or order data: windows are picked from loudness and scene changes") }
        let planStarted = Date()
        let scored = Scoring.score(series, recipe: recipe)
        let duration = analysis.duration
        let version = request.overrides?.version.map { " v\($0)" } ?? ""
        do { try request.overrides?.check(duration: duration, source: "overrides") } catch let e as PlanOverridesError {
            throw CutError(.badSegments, path: request.input, detail: e.description)
        }
        // Spans set in the review console replace the file's before picking: clips, chapters and tags follow them.
        var productSpans = products?.items ?? []
        if let edits = request.overrides?.products {
            let (spans, unknown) = ProductEdit.apply(edits, to: productSpans)
            productSpans = spans
            for e in edits where !unknown.contains(e.id) {
                notes.append(String(format: "product %@: span set in the review console (override%@): %.3f–%.3f s", e.id, version, e.start, e.end))
            }
            for id in unknown { notes.append("product \(id): not in the recording's product list; its span edit (override\(version)) is left out") }
        }
        func product(at t: Double) -> ProductSpan? { productSpans.first { $0.start <= t && t < $0.end } }

        // The moments, and the forms made of them: no filler, whole moments, product clips about their product.
        let picks = HighlightPicker.pick(scored, series: series, duration: duration, products: productSpans, recipe: recipe)
        var windows = picks.reel
        let teaser = picks.teaser, shorts = picks.shorts
        notes += picks.notes
        var moments = picks.moments
        if let edited = request.overrides?.windows {
            // The person's windows are the reel, whole: each is its own moment.
            windows = edited.map { w in
                let seconds = scored.total[max(0, Int(w[0]))..<max(max(0, Int(w[0])), min(scored.total.count, Int(w[1].rounded(.up))))]
                return Window(start: w[0], end: w[1], momentStart: w[0], momentEnd: w[1],
                              peak: HighlightsEngine.bestSecond(in: w, score: scored.total),
                              score: seconds.isEmpty ? 0 : seconds.reduce(0, +) / Double(seconds.count), signals: [:],
                              reasons: ["set in the review console (override\(version))"])
            }
            moments = windows
            notes.append("reel windows set in the review console (override\(version)): \(edited.count) window\(edited.count == 1 ? "" : "s")")
        }
        let planSeconds = Date().timeIntervalSince(planStarted)

        // Outputs.
        let base = ((request.input as NSString).lastPathComponent as NSString).deletingPathExtension
        let dir = request.output
        let date = HighlightsEngine.dateText(recordingStart ?? (try? FileManager.default.attributesOfItem(atPath: request.input)[.modificationDate] as? Date) ?? nil,
                                             zone: clock.timeZone)
        func title(form: String, product: String?) -> String {
            recipe.titleTemplate.replacingOccurrences(of: "{shop}", with: recipe.shop).replacingOccurrences(of: "{date}", with: date)
                .replacingOccurrences(of: "{form}", with: form).replacingOccurrences(of: "{product}", with: product.map { " " + $0 } ?? "")
                .trimmingCharacters(in: .whitespaces)
        }
        var outputs: [HighlightsPlan.Output] = []
        if recipe.makeReel, !windows.isEmpty {
            var ranges = recipe.teaserBeforeReel ? teaser : []
            ranges += windows.map { [$0.start, $0.end] }
            var chapters: [CutChapter] = []
            var at = 0.0
            if recipe.teaserBeforeReel && !teaser.isEmpty {
                let d = teaser.reduce(0) { $0 + $1[1] - $1[0] }
                chapters.append(CutChapter(title: "Teaser", start: 0, end: d)); at = d
            }
            for (k, w) in windows.enumerated() {
                chapters.append(CutChapter(title: product(at: w.peak)?.title ?? "Highlight \(k + 1)", start: at, end: at + w.duration))
                at += w.duration
            }
            let path = (dir as NSString).appendingPathComponent("\(base).reel.mp4")
            let strongest = windows.max { $0.score < $1.score }?.peak ?? windows[0].peak
            outputs.append(.init(form: "reel", path: path, title: title(form: "Highlights", product: nil), ranges: ranges, duration: at,
                                 chapters: chapters, metadata: path + ".json", peak: strongest))
        }
        if !teaser.isEmpty {
            let path = (dir as NSString).appendingPathComponent("\(base).teaser.mp4")
            outputs.append(.init(form: "teaser", path: path, title: title(form: "Teaser", product: nil), ranges: teaser,
                                 duration: teaser.reduce(0) { $0 + $1[1] - $1[0] }, chapters: [], metadata: path + ".json",
                                 peak: (teaser[0][0] + teaser[0][1]) / 2))
        }
        if recipe.makeProductClips {
            var taken: Set<String> = []
            for clip in picks.productClips {
                let p = clip.product, range = clip.range
                // A product presented twice (or ids that read the same as file names) gets -2, -3…
                var name = "\(base).product-\(HighlightsEngine.slug(p.id))"
                var n = 2
                while taken.contains(name) { name = "\(base).product-\(HighlightsEngine.slug(p.id))-\(n)"; n += 1 }
                taken.insert(name)
                let path = (dir as NSString).appendingPathComponent("\(name).mp4")
                outputs.append(.init(form: "product", path: path, title: title(form: "", product: p.title), ranges: [range],
                                     duration: range[1] - range[0], chapters: [CutChapter(title: p.title, start: 0, end: range[1] - range[0])],
                                     metadata: path + ".json", peak: HighlightsEngine.bestSecond(in: range, score: scored.total)))
            }
        }
        for (k, w) in shorts.sorted(by: { $0.score > $1.score }).enumerated() {
            let path = (dir as NSString).appendingPathComponent("\(base).short-\(k + 1).mp4")
            outputs.append(.init(form: "short", path: path, title: title(form: "Short \(k + 1)", product: product(at: w.peak)?.title),
                                 ranges: [[w.start, w.end]], duration: w.duration, chapters: [], metadata: path + ".json", peak: w.peak))
        }
        let timeline = (dir as NSString).appendingPathComponent("\(base).timeline.png")
        // Every moment, with the stretch the reel takes of it (none when left out for length).
        let planned = moments.map { w in
            let inReel = windows.first { $0.momentStart < w.momentEnd && w.momentStart < $0.momentEnd }
            return HighlightsPlan.PlannedWindow(start: w.start, end: w.end, moment: [w.momentStart, w.momentEnd], peak: w.peak,
                                                score: w.score, signals: w.signals, reasons: w.reasons, product: product(at: w.peak)?.title,
                                                reel: inReel.map { [$0.start, $0.end] })
        }
        // Tags, explained: the products on show and the chat's repeated short messages in each output.
        for i in outputs.indices {
            let ranges = outputs[i].ranges
            let texts = chat?.items.filter { m in ranges.contains { $0[0] <= m.time && m.time < $0[1] } }.map(\.text) ?? []
            let titles = productSpans.filter { p in ranges.contains { $0[0] < p.end && p.start < $0[1] } }.map(\.title)
            outputs[i].tags = Keywords.tags(products: titles, chat: texts)
        }
        var plan = HighlightsPlan(input: request.input, duration: duration, recordingStart: recordingStart.map(clock.timeZone.iso8601),
                                  times: timeStatements, signals: summaries,
                                  sceneCuts: series.sceneCuts.count, pauses: series.pauses.count, windows: planned,
                                  reelLength: picks.reelLength,
                                  teaser: teaser, outputs: outputs, timeline: timeline, notes: notes, planSeconds: planSeconds, seconds: 0)
        if request.planOnly {
            plan.seconds = Date().timeIntervalSince(started)
            return plan
        }

        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let library = try ProfileLibrary(folders: request.profileFolders)
        let coverSpots = CoverSpots.pick(plan.outputs.map { ($0.ranges, $0.peak) }, score: scored.total)
        var coverFrames: [Double] = []
        for (i, o) in plan.outputs.enumerated() {
            progress?.update(stage: "\(o.form) \(i + 1)/\(plan.outputs.count)", fraction: 0)
            let ranges = o.ranges.map { RangeRequest(from: .seconds($0[0]), to: .seconds($0[1])) }
            if o.form == "short" {
                guard let profile = library.profile(named: recipe.shortsProfile) else {
                    throw TranscodeError("recipe \(recipe.name): no profile '\(recipe.shortsProfile)' for the shorts")
                }
                let r = try TranscodeEngine(progress: progress).run(TranscodeRequest(input: request.input,
                                                                                     outputs: [.init(profile: profile, path: o.path)], range: ranges[0]))
                plan.outputs[i].frames = r.outputs.first?.frames
            } else {
                var cut = CutRequest(input: request.input, output: o.path, ranges: ranges, mode: .smart)
                cut.chapters = o.chapters
                let r = try CutEngine(progress: progress).run(cut)
                plan.outputs[i].frames = r.frames
            }
            if recipe.makeCovers, let spot = coverSpots[i] {
                let made = try CoverMaker.make(input: request.input, around: spot.around, within: [spot.within, spot.range],
                                               avoiding: coverFrames, base: (o.path as NSString).deletingPathExtension)
                plan.outputs[i].covers = made.files
                plan.outputs[i].coverTime = made.time
                coverFrames.append(made.time)
            }
            let file = (o.path as NSString).lastPathComponent
            try HighlightsEngine.writeMetadata(plan.outputs[i], recipe: recipe, tags: o.tags.map(\.tag),
                                               input: request.input, date: date,
                                               edit: request.overrides?.outputs?.first { $0.file == file })
        }
        // The timeline picture: the series and the windows, for an operator.
        var lanes: [TimelinePicture.Series] = [.init(name: "score", values: scored.total, color: (220, 80, 40))]
        if let c = series.chat { lanes.append(.init(name: "chat/s", values: c, color: (40, 120, 220))) }
        if let o = series.orders { lanes.append(.init(name: "orders/s", values: o, color: (40, 170, 90))) }
        if let l = series.loudness { lanes.append(.init(name: "loudness", values: l.map { max(0, $0 + 70) }, color: (150, 90, 200))) }
        if let s = series.scene { lanes.append(.init(name: "scene", values: s, color: (120, 120, 120))) }
        var marks = windows.enumerated().map { k, w in
            TimelinePicture.Mark(start: w.start, end: w.end, label: String(format: "#%d %.1f", k + 1, w.score), kind: .reel)
        }
        marks += shorts.enumerated().map { k, w in TimelinePicture.Mark(start: w.start, end: w.end, label: "S\(k + 1)", kind: .short) }
        marks += teaser.map { TimelinePicture.Mark(start: $0[0], end: $0[1], label: "T", kind: .teaser) }
        marks += productSpans.map { TimelinePicture.Mark(start: $0.start, end: $0.end, label: $0.id, kind: .product) }
        // A shorts-only run (the daemon's first job) leaves the picture to the run that picks the reel.
        if recipe.makeReel || recipe.makeProductClips || !recipe.makeShorts {
            let picture = TimelinePicture.render(series: lanes, marks: marks, duration: duration, title: "\(base): \(recipe.name)")
            try TimelinePicture.writePNG(picture, to: timeline)
            let rate = demuxer.bestVideoStream.map { demuxer.streams[$0].averageFrameRate }
            let frameRate = rate.flatMap { $0.den > 0 && $0.num > 0 ? Double($0.num) / Double($0.den) : nil }
            let review = ReviewFile(
                input: request.input, duration: duration, frameRate: frameRate,
                lanes: lanes.map { .init(name: $0.name, values: $0.values.map { $0.isFinite ? ($0 * 1000).rounded() / 1000 : 0 }) },
                sceneCuts: series.sceneCuts,
                windows: planned.map { .init(start: $0.start, end: $0.end, peak: $0.peak, score: $0.score, reasons: $0.reasons,
                                             product: $0.product, reel: $0.reel) },
                products: productSpans.map { .init(id: $0.id, title: $0.title, start: $0.start, end: $0.end) },
                outputs: plan.outputs.map { .init(form: $0.form, path: $0.path, title: $0.title, ranges: $0.ranges) })
            // For the console only: the outputs are made, so a failure here is a note, not the job's end.
            do { try review.write(to: ReviewFile.path(forRecording: request.input, in: dir)) } catch {
                plan.notes.append("the review file was not written: \(error)")
            }
        }
        plan.seconds = Date().timeIntervalSince(started)
        return plan
    }

    /// Sidecar files beside the recording: BASE.chat.{jsonl,csv,xml}, BASE.danmaku.xml, BASE.orders.{jsonl,csv},
    /// BASE.products.{json,csv}.
    public static func sidecars(for input: String) -> (chat: String?, orders: String?, products: String?) {
        let stem = (input as NSString).deletingPathExtension
        func first(_ names: [String]) -> String? { names.map { stem + $0 }.first { FileManager.default.fileExists(atPath: $0) } }
        return (first([".chat.jsonl", ".chat.json", ".chat.csv", ".chat.xml", ".danmaku.xml", ".xml"]),
                first([".orders.jsonl", ".orders.json", ".orders.csv"]),
                first([".products.json", ".products.csv"]))
    }

    static func bestSecond(in range: [Double], score: [Double]) -> Double {
        let a = max(0, Int(range[0])), b = min(score.count, Int(range[1]))
        guard a < b else { return range[0] }
        return Double((a..<b).max { score[$0] < score[$1] } ?? a)
    }

    static func slug(_ s: String) -> String {
        let kept = s.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" ? Character($0) : "-" }
        let text = String(kept).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return text.isEmpty ? "product" : text
    }

    /// The recording's day, in the zone its wall-clock times are read in.
    static func dateText(_ date: Date?, zone: SignalTimeZone) -> String {
        guard let date else { return "" }
        return String(zone.iso8601(date).prefix(10))
    }

    /// The output's sidecar (`FILE.json`): generated title, description and tags, with the review
    /// console's `edit` over them.
    static func writeMetadata(_ o: HighlightsPlan.Output, recipe: Recipe, tags: [String], input: String, date: String,
                              edit: OutputEdit? = nil) throws {
        var seen = Set<String>()
        let unique = tags.filter { seen.insert($0).inserted }
        let description = o.form == "product"
            ? "\(o.title): the presentation from the \(recipe.shop) live stream\(date.isEmpty ? "" : " of \(date)")."
            : "\(o.title): \(o.ranges.count) moments from the \(recipe.shop) live stream\(date.isEmpty ? "" : " of \(date)")."
        let value: [String: Any] = [
            "title": o.title, "description": description, "tags": unique, "form": o.form, "file": (o.path as NSString).lastPathComponent,
            "duration": o.duration, "source": input,
            "sourceRanges": o.ranges, "chapters": o.chapters.map { ["title": $0.title, "start": $0.start, "end": $0.end] },
            "covers": o.covers.map { ($0 as NSString).lastPathComponent },
        ]
        try CoverMaker.write(try OutputEdit.sidecarData(edit?.applied(to: value) ?? value), to: o.metadata)
    }
}
