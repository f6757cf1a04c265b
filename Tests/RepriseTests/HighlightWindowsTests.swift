import Foundation
import XCTest
@testable import RepriseHighlights
@testable import RepriseProfiles

/// How highlights pick moments (issue 13): windows hold whole bursts and the orders tied to them,
/// reels hold only moments that clear the bar and follow the recording's length, product clips
/// are about their product.
final class HighlightWindowsTests: XCTestCase {
    /// A steady chat of 1–3 messages a second, the same for every run.
    static func steadyChat(seconds n: Int, seed: UInt64 = 11) -> [Double] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { _ in Double(rng.next() % 3) + 1 }
    }

    static func moments(_ series: SignalSeries, recipe: Recipe = Recipe()) -> [Window] {
        let scored = Scoring.score(series, recipe: recipe)
        return WindowShaper.moments(scored, series: series, minLength: recipe.windowMin, maxLength: recipe.windowMax,
                                    snap: recipe.snapSeconds, minScore: recipe.minScore, end: Double(series.seconds))
    }

    /// Asserts each burst [start, end) lies whole inside exactly one window and no window edge falls inside it.
    static func assertWhole(_ bursts: [(Double, Double)], in windows: [(Double, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(bursts.isEmpty, file: file, line: line)
        for b in bursts {
            let holding = windows.filter { $0.0 <= b.0 && $0.1 >= b.1 }
            XCTAssertEqual(holding.count, 1, "burst \(b) in windows \(windows)", file: file, line: line)
            let cutting = windows.filter { ($0.0 > b.0 && $0.0 < b.1) || ($0.1 > b.0 && $0.1 < b.1) }
            XCTAssertTrue(cutting.isEmpty, "windows \(cutting) cut burst \(b)", file: file, line: line)
        }
    }

    // MARK: windows hold whole moments

    /// Bursts of 5, 15 and 40 s in an hour of steady chat: three windows, each holding one burst
    /// whole, its peak at the burst's middle, its score above the bar; nothing else.
    func testBurstsOf5And15And40SecondsAreEachWholeInOneWindow() {
        let n = 3600
        var chat = Self.steadyChat(seconds: n)
        let bursts: [(Double, Double)] = [(600, 605), (1500, 1515), (2500, 2540)]
        for (a, b) in bursts { for t in Int(a)..<Int(b) { chat[t] += 15 } }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        let windows = Self.moments(series)
        XCTAssertEqual(windows.count, 3, "\(windows.map { ($0.start, $0.end, $0.score) })")
        Self.assertWhole(bursts, in: windows.map { ($0.start, $0.end) })
        for (w, b) in zip(windows, bursts) {
            XCTAssertGreaterThanOrEqual(w.score, Recipe().minScore, "\(w)")
            XCTAssertEqual(w.peak, (b.0 + b.1) / 2, accuracy: 1.5, "the peak is the burst's centre of mass: \(w)")
            XCTAssertTrue((30...120).contains(w.duration), "length \(w.duration)")
            XCTAssertTrue(w.reasons.first?.hasPrefix("chat") ?? false, "\(w.reasons)")
        }
    }

    /// The reported case: a chat burst at 201–214 s followed by orders at 215–225 s is one window
    /// holding both (it used to end at 206.65, mid-burst), its peak inside the burst.
    func testBurstFollowedByOrdersIsOneWindowHoldingBoth() {
        let n = 1200
        var chat = Self.steadyChat(seconds: n)
        for t in 201..<214 { chat[t] += 10 }
        var orders = [Double](repeating: 0, count: n)
        for t in 215..<225 { orders[t] = 2 }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        series.orders = orders
        let windows = Self.moments(series)
        XCTAssertEqual(windows.count, 1, "\(windows.map { ($0.start, $0.end, $0.score) })")
        guard let w = windows.first else { return }
        XCTAssertLessThanOrEqual(w.start, 201)
        XCTAssertGreaterThanOrEqual(w.end, 225, "the orders that followed are inside: \(w)")
        XCTAssertTrue((201...225).contains(w.peak), "peak \(w.peak)")
        XCTAssertGreaterThan(w.signals["chat"] ?? 0, 1)
    }

    /// Orders that come in after a lull, still within the order lag of the burst, are its moment
    /// too: one window from the burst to the last of them.
    func testOrdersAfterALullWithinTheLagJoinTheBurst() {
        let n = 1200
        var chat = Self.steadyChat(seconds: n)
        for t in 300..<310 { chat[t] += 10 }
        var orders = [Double](repeating: 0, count: n)
        for t in 332..<342 { orders[t] = 2 }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        series.orders = orders
        let windows = Self.moments(series)
        XCTAssertEqual(windows.count, 1, "\(windows.map { ($0.start, $0.end, $0.score) })")
        Self.assertWhole([(300, 342)], in: windows.map { ($0.start, $0.end) })
    }

    /// Orders with no burst before them still mark the moment the lag earlier (the unseen cause).
    func testOrdersAloneMarkTheMomentTheLagEarlier() {
        let n = 1200
        var orders = [Double](repeating: 0, count: n)
        for t in 630..<650 { orders[t] = 3 }
        var series = SignalSeries(seconds: n)
        series.chat = Self.steadyChat(seconds: n)
        series.orders = orders
        let windows = Self.moments(series)
        XCTAssertEqual(windows.count, 1, "\(windows.map { ($0.start, $0.end, $0.score) })")
        guard let w = windows.first else { return }
        XCTAssertTrue(w.start <= 600 && w.end >= 620 && w.end <= 650, "30 s before the orders: \(w)")
        XCTAssertTrue(w.reasons.first?.hasPrefix("order") ?? false, "\(w.reasons)")
    }

    /// Windows that would touch are one: two bursts 12 s apart make one window holding both.
    func testTouchingWindowsMerge() {
        let n = 1200
        var chat = Self.steadyChat(seconds: n)
        for t in 500..<508 { chat[t] += 10 }
        for t in 520..<528 { chat[t] += 10 }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        let windows = Self.moments(series)
        XCTAssertEqual(windows.count, 1, "\(windows.map { ($0.start, $0.end) })")
        Self.assertWhole([(500, 508), (520, 528)], in: windows.map { ($0.start, $0.end) })
    }

    // MARK: reels of real moments

    func testReelLengthFollowsTheRecording() {
        let recipe = Recipe()
        let short = ReelLength.of(recipe: recipe, duration: 1200)
        XCTAssertEqual(short.max, 144, accuracy: 1e-9, "12 % of 20 min")
        XCTAssertEqual(short.target, 96, accuracy: 1e-9, "8 % of 20 min")
        XCTAssertEqual(short.min, 72, accuracy: 1e-9)
        XCTAssertEqual(ReelLength.of(recipe: recipe, duration: 2 * 3600).max, 864, accuracy: 1e-9, "12 % of 2 h")
        let long = ReelLength.of(recipe: recipe, duration: 5 * 3600)
        XCTAssertEqual(long, ReelLength(min: 900, target: 1200, max: 1800), "a 5-h stream gets the recipe's own lengths")
    }

    /// A quiet recording with two moments: a reel of those two only, with a note, no filler; the
    /// shorts come from those moments too.
    func testFewMomentsGiveAShortReelAndANoteNeverFiller() {
        let n = 3600
        var chat = Self.steadyChat(seconds: n)
        for t in 900..<910 { chat[t] += 10 }
        for t in 2400..<2412 { chat[t] += 10 }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        let recipe = Recipe()
        let picks = HighlightPicker.pick(Scoring.score(series, recipe: recipe), series: series, duration: Double(n), products: [],
                                         recipe: recipe)
        XCTAssertEqual(picks.reel.count, 2, "\(picks.reel)")
        Self.assertWhole([(900, 910), (2400, 2412)], in: picks.reel.map { ($0.start, $0.end) })
        XCTAssertTrue(picks.reel.allSatisfy { $0.score >= recipe.minScore }, "\(picks.reel)")
        XCTAssertTrue(picks.notes.contains { $0.hasPrefix("few stand-out moments") }, "\(picks.notes)")
        XCTAssertEqual(picks.shorts.count, 2, "a short per moment, no more: \(picks.shorts)")
        for s in picks.shorts {
            XCTAssertTrue(picks.moments.contains { $0.momentStart >= s.start && $0.momentEnd <= s.end }, "short \(s) holds no moment")
            XCTAssertTrue((recipe.shortsMin...recipe.shortsMax).contains(s.duration), "short length \(s.duration)")
        }
    }

    /// More moments than the recording's reel holds: padding goes first, then the weakest moments,
    /// with a note; every moment kept is whole.
    func testLongReelLosesPaddingThenTheWeakestMoments() {
        let n = 1200
        var chat = Self.steadyChat(seconds: n)
        let bursts = stride(from: 60, to: 1140, by: 90).map { (Double($0), Double($0 + 10)) }   // 12 moments
        for (k, b) in bursts.enumerated() { for t in Int(b.0)..<Int(b.1) { chat[t] += 6 + Double(k) } }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        let recipe = Recipe()
        let picks = HighlightPicker.pick(Scoring.score(series, recipe: recipe), series: series, duration: Double(n), products: [],
                                         recipe: recipe)
        XCTAssertEqual(picks.moments.count, 12, "\(picks.moments.map { ($0.start, $0.end) })")
        let length = picks.reel.reduce(recipe.teaserSeconds) { $0 + $1.duration }
        XCTAssertLessThanOrEqual(length, picks.reelLength.max + 0.01)
        XCTAssertLessThan(picks.reel.count, 12)
        XCTAssertGreaterThan(picks.reel.count, 3)
        XCTAssertTrue(picks.reel.allSatisfy { $0.start <= $0.momentStart && $0.end >= $0.momentEnd }, "\(picks.reel)")
        XCTAssertTrue(picks.notes.contains { $0.contains("left out of the reel") }, "\(picks.notes)")
        let kept = bursts.filter { b in picks.reel.contains { $0.start <= b.0 && $0.end >= b.1 } }
        XCTAssertEqual(kept.count, picks.reel.count, "each reel window holds one planted burst whole")
        XCTAssertEqual(kept.last?.0, bursts.last?.0, "the strongest (last) burst is kept")
    }

    // MARK: product clips

    /// The reported case: products at 20–120 s and 150–280 s, min 180: each clip is its own
    /// presentation plus the free lead-in, never the other product's time; short, with a note.
    func testProductClipsNeverHoldAnotherProduct() {
        var recipe = Recipe()
        recipe.productLeadIn = 15; recipe.productMin = 180; recipe.productMax = 600
        let spans = [ProductSpan(id: "a", title: "A", start: 20, end: 120), ProductSpan(id: "b", title: "B", start: 150, end: 280)]
        let score = [Double](repeating: 0, count: 300)
        let made = ProductClips.plan(spans, recipe: recipe, duration: 300, score: score)
        XCTAssertEqual(made.clips.map(\.range), [[5, 120], [135, 280]])
        XCTAssertEqual(made.notes.count, 2, "\(made.notes)")
        XCTAssertTrue(made.notes.allSatisfy { $0.contains("shorter than product_clips.min") && $0.contains("made anyway") }, "\(made.notes)")

        // A lead-in stops where the previous product's time ends.
        let close = [ProductSpan(id: "a", title: "A", start: 20, end: 120), ProductSpan(id: "b", title: "B", start: 125, end: 280)]
        XCTAssertEqual(ProductClips.plan(close, recipe: recipe, duration: 300, score: score).clips.map(\.range), [[5, 120], [120, 280]])

        recipe.productSkipShort = true
        let skipped = ProductClips.plan(spans, recipe: recipe, duration: 300, score: score)
        XCTAssertTrue(skipped.clips.isEmpty, "\(skipped.clips)")
        XCTAssertEqual(skipped.notes.filter { $0.contains("skipped") }.count, 2, "\(skipped.notes)")
    }

    func testLongProductClipKeepsItsBestStretch() {
        var recipe = Recipe()
        recipe.productLeadIn = 15; recipe.productMin = 180; recipe.productMax = 600
        var score = [Double](repeating: 0, count: 7200)
        for t in 3000..<3100 { score[t] = 5 }
        let spans = [ProductSpan(id: "a", title: "A", start: 1000, end: 1500), ProductSpan(id: "b", title: "B", start: 2000, end: 4000)]
        let clips = ProductClips.plan(spans, recipe: recipe, duration: 7200, score: score).clips
        XCTAssertEqual(clips.count, 2)
        XCTAssertEqual(clips.first?.range, [985, 1500])
        guard let long = clips.last?.range else { return }
        XCTAssertEqual(long[1] - long[0], 600)
        XCTAssertTrue(long[0] >= 1985 && long[1] <= 4000 && long[0] <= 3000 && long[1] >= 3100, "the best stretch is kept: \(long)")
    }

    func testRecipeReadsSkipShort() throws {
        let folder = ScratchSpace.makeFolder("recipe-skip")
        let good = folder.appendingPathComponent("recipe-a.yaml")
        try "product_clips: {min: 60, skip_short: true}\n".write(to: good, atomically: true, encoding: .utf8)
        XCTAssertTrue(try RecipeLoader.load(path: good.path).productSkipShort)
        XCTAssertFalse(Recipe().productSkipShort, "made anyway by default")
        let bad = folder.appendingPathComponent("recipe-b.yaml")
        try "product_clips:\n  skip_short: sometimes\n".write(to: bad, atomically: true, encoding: .utf8)
        let error = expectError(ProfileError.self) { try RecipeLoader.load(path: bad.path) }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains("skip_short"), "\(String(describing: error))")
    }

    // MARK: done when: a 20-minute recording with four planted bursts

    /// `reprise highlights --plan-only` on a 20-minute recording (160x90, 2 fps, made by ffmpeg)
    /// with a steady chat, four planted chat bursts and orders after two of them, default recipe:
    /// the reel is exactly those four moments, each burst whole in one window, every window above
    /// min_score, the reel at most 12 % of the recording, and a note says it is short.
    func testTwentyMinutesWithFourBurstsGiveAReelOfThoseFour() throws {
        let folder = ScratchSpace.makeFolder("four-bursts")
        let input = folder.appendingPathComponent("rec.mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=2:d=1200",
                                          "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", input.path])
        let bursts: [(Double, Double)] = [(180, 192), (420, 435), (700, 708), (960, 972)]
        let orderRushes: [(Double, Double)] = [(436, 446), (973, 985)]
        var rng = SplitMix(seed: 5)
        var chat: [String] = []
        for t in 0..<1200 {
            let extra = bursts.contains { Double(t) >= $0.0 && Double(t) < $0.1 } ? 10 : 0
            let count = Int(rng.next() % 3) + 1 + extra
            for k in 0..<count { chat.append(#"{"t": \#(Double(t) + Double(k) / Double(count)), "user": "u\#(k)", "text": "hi"}"#) }
        }
        try chat.joined(separator: "\n").write(to: folder.appendingPathComponent("rec.chat.jsonl"), atomically: true, encoding: .utf8)
        var orders = ["t,product,kind,amount"]
        for r in orderRushes { for t in stride(from: r.0, to: r.1, by: 0.5) { orders.append("\(t),P1,order,99") } }
        try orders.joined(separator: "\n").write(to: folder.appendingPathComponent("rec.orders.csv"), atomically: true, encoding: .utf8)

        let run = try Reprise.run(["highlights", input.path, "-o", folder.appendingPathComponent("out").path, "--plan-only", "--json"])
        XCTAssertEqual(run.status, 0, run.transcript)
        guard let plan = run.summary() else { return XCTFail("no plan:\n\(run.transcript)") }
        let duration = try XCTUnwrap(plan["duration"]?.double)
        XCTAssertEqual(duration, 1200, accuracy: 1)
        let windows = (plan["windows"]?.array ?? []).compactMap { w -> (Double, Double, Double)? in
            guard let s = w["start"]?.double, let e = w["end"]?.double, let score = w["score"]?.double else { return nil }
            return (s, e, score)
        }
        XCTAssertEqual(windows.count, 4, "one window per planted moment: \(windows)")
        for w in windows { XCTAssertGreaterThanOrEqual(w.2, 1.0, "window \(w) under min_score") }
        let reel = try XCTUnwrap(plan["outputs"]?.array?.first { $0["form"]?.string == "reel" }, "no reel")
        let ranges = (reel["ranges"]?.array ?? []).map { $0.array?.compactMap(\.double) ?? [] }
        let teaser = (plan["teaser"]?.array ?? []).count
        XCTAssertEqual(teaser, 3)
        let moments = ranges.dropFirst(teaser).map { ($0[0], $0[1]) }
        XCTAssertEqual(moments.count, 4, "the reel is exactly the four moments: \(ranges)")
        Self.assertWhole(bursts, in: moments)
        for r in orderRushes { XCTAssertTrue(moments.contains { $0.0 <= r.0 && $0.1 >= r.1 }, "orders \(r) outside the reel's windows \(moments)") }
        let length = try XCTUnwrap(reel["duration"]?.double)
        XCTAssertLessThanOrEqual(length, 0.12 * duration, "reel \(length) s of a \(duration)-s recording")
        print(String(format: "four bursts: reel %.1f s = %.1f %% of %.0f s; windows %@", length, 100 * length / duration, duration,
                     "\(moments)"))
    }
}
