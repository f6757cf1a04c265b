import Foundation
import XCTest
@testable import RepriseHighlights
@testable import RepriseProfiles

/// Highlights: scoring and window shaping on synthetic series (no media), then `reprise
/// highlights` end to end on a generated recording with generated signal files.
final class HighlightsTests: XCTestCase {
    // MARK: scoring and windows, no media

    /// A steady, noisy chat with two planted bursts and an order burst: the windows are the
    /// bursts (orders moved earlier by the lag), each whole, snapped outwards to the scene cut next
    /// to it, each with its reasons, and nothing else: chat noise is no moment, however few there are.
    func testBurstsBecomeSnappedWindowsWithReasons() {
        let n = 3600
        var rng = SplitMix(seed: 7)
        var chat = (0..<n).map { _ in Double(rng.next() % 3) + 1 }   // 1–3 messages a second
        for t in 600..<640 { chat[t] += 12 }
        for t in 2000..<2030 { chat[t] += 9 }
        var orders = [Double](repeating: 0, count: n)
        for t in 3030..<3060 { orders[t] = 3 }
        var series = SignalSeries(seconds: n)
        series.chat = chat
        series.orders = orders
        series.sceneCuts = [593, 645, 1000, 1999, 2031]
        var recipe = Recipe()
        recipe.windowMin = 30; recipe.windowMax = 60; recipe.snapSeconds = 4; recipe.minScore = 2
        let scored = Scoring.score(series, recipe: recipe)
        let windows = WindowShaper.moments(scored, series: series, minLength: 30, maxLength: 60, snap: 4, minScore: 2)
        XCTAssertEqual(windows.count, 3, "\(windows.map { ($0.start, $0.end, $0.score) })")
        guard windows.count == 3 else { return }
        XCTAssertEqual(windows[0].start, 593, "snapped to the cut before the burst: \(windows[0])")
        XCTAssertEqual(windows[0].end, 645, "snapped to the cut after it: \(windows[0])")
        XCTAssertTrue(windows[1].start <= 2000 && windows[1].end >= 2030, "second burst: \(windows[1])")
        XCTAssertTrue(windows[2].start <= 3010 && windows[2].end >= 3020 && windows[2].end <= 3061,
                      "orders at 3030–3060 mark the moment 30 s earlier: \(windows[2])")
        for w in windows {
            XCTAssertTrue((30...60).contains(w.duration), "length \(w.duration)")
            XCTAssertGreaterThanOrEqual(w.score, 2)
            XCTAssertFalse(w.reasons.isEmpty)
        }
        XCTAssertTrue(windows[0].reasons.first?.hasPrefix("chat") ?? false, "\(windows[0].reasons)")
        XCTAssertTrue(windows[2].reasons.first?.hasPrefix("order") ?? false, "\(windows[2].reasons)")
        XCTAssertGreaterThan(windows[0].signals["chat"] ?? 0, 3)
    }

    /// The baseline is local: the same burst size stands out in a quiet hour and in a busy one.
    func testBaselineIsLocal() {
        var x = [Double](repeating: 2, count: 7200)
        for t in 3600..<7200 { x[t] = 20 }           // the second hour is ten times busier
        for t in 1000..<1010 { x[t] += 10 }          // a burst in the quiet hour
        for t in 5000..<5010 { x[t] += 10 }          // the same burst in the busy hour
        let z = Scoring.localZ(x, window: 600)
        XCTAssertGreaterThan(z[1005], 1)
        XCTAssertGreaterThan(z[5005], 1)
        XCTAssertLessThan(z[4500], 0.5, "a busy hour alone is not a highlight")
    }

    /// Tags are the chat's repeated short messages counted whole (the reported bug: 播好 from
    /// 主播好美, 么样 from 质量怎么样), after the product titles, each with where it came from.
    func testTagsAreWholeRepeatedShortMessagesWithCounts() {
        let chat = ["上链接", "上链接！", "上链接上链接", "【上链接】", "多少钱?", "多少钱", "好看好看", "好看😍", "好看",
                    "主播好美", "质量怎么样", "这个颜色真的很好看，质量怎么样，多少钱", "哈哈哈哈", "666", "6666", "1", "1",
                    "Love it!", "love it", "LOVE IT", "hello", "hello", "这个颜色 好看"]
        XCTAssertEqual(Keywords.phrase("上链接上链接"), "上链接")
        XCTAssertEqual(Keywords.phrase("【上链接】！！"), "上链接")
        XCTAssertEqual(Keywords.phrase("ｏｋ　上链接"), "ok 上链接", "full-width forms and spaces")
        XCTAssertEqual(Keywords.phrase("买买买"), "买买买", "a one-character unit is kept as typed")
        XCTAssertNil(Keywords.phrase("这个颜色真的很好看，质量怎么样，多少钱"), "a sentence, not a phrase")
        XCTAssertNil(Keywords.phrase("这个颜色 好看"), "two Chinese clauses")
        XCTAssertNil(Keywords.phrase("哈哈哈哈"))
        XCTAssertNil(Keywords.phrase("666"))

        let tags = Keywords.tags(products: ["红色外套", " 红色外套 ", "Blue Bag"], chat: chat, limit: 4)
        XCTAssertEqual(tags, [
            Tag(tag: "红色外套", source: "product"), Tag(tag: "Blue Bag", source: "product"),
            Tag(tag: "上链接", count: 4, source: "chat"), Tag(tag: "love it", count: 3, source: "chat"),
            Tag(tag: "好看", count: 3, source: "chat"), Tag(tag: "多少钱", count: 2, source: "chat"),
        ])
        let every = Keywords.top(chat, limit: 100, minimum: 1).map(\.phrase)
        for piece in ["播好", "好美", "么样", "怎么", "链接", "颜色"] {
            XCTAssertFalse(every.contains(piece), "\(piece) is a piece of a message: \(every)")
        }
        XCTAssertTrue(every.contains("主播好美") && every.contains("质量怎么样"), "whole messages are kept: \(every)")
    }

    /// Covers: each output's moment lies in its own ranges, 4 s from the others' where the ranges
    /// allow it; two outputs of the same single range share theirs.
    func testCoverSpotsAreApartAndInsideEachOutput() {
        var score = [Double](repeating: 0, count: 60)
        score[22] = 5; score[41] = 3; score[50] = 2
        let reel = (ranges: [[21.0, 23.0], [40.0, 42.0], [49.0, 51.0], [20.0, 28.0], [38.0, 46.0], [48.0, 56.0]], peak: 22.5)
        let teaser = (ranges: [[21.0, 23.0], [40.0, 42.0], [49.0, 51.0]], peak: 22.0)
        let short = (ranges: [[19.0, 25.0]], peak: 22.5)
        let product = (ranges: [[19.0, 25.0]], peak: 22.0)
        let clip = (ranges: [[30.0, 31.0]], peak: 30.5)
        let spots = CoverSpots.pick([reel, teaser, short, product, clip, (ranges: [], peak: 0)], score: score)
        XCTAssertNil(spots[5], "no ranges, no cover")
        let moments = spots.prefix(5).map { $0?.around ?? -1 }
        for (k, o) in [reel, teaser, short, product, clip].enumerated() {
            guard let spot = spots[k] else { XCTFail("output \(k) has no cover spot"); continue }
            XCTAssertTrue(o.ranges.contains { $0[0] <= spot.within.lowerBound && spot.within.upperBound <= $0[1] },
                          "output \(k): \(spot) outside its ranges \(o.ranges)")
            XCTAssertTrue(spot.within.contains(spot.around), "output \(k): \(spot)")
        }
        XCTAssertEqual(spots[2], spots[3], "the same single range: the same cover")
        XCTAssertEqual(spots[2]?.within, 19..<20.625, "the short searches only its side of the midpoint to the teaser's moment")
        for (i, j) in [(0, 1), (0, 2), (0, 4), (1, 4), (2, 4)] {
            XCTAssertGreaterThanOrEqual(abs(moments[i] - moments[j]), CoverSpots.apart, "outputs \(i) and \(j): \(moments)")
        }
        XCTAssertEqual(moments[4], 30.5, "the one-second clip, the least footage, takes its peak")
        XCTAssertEqual(moments[1], 22.0, "the teaser next: its peak")
        XCTAssertEqual(moments[2], 19.25, "the short has no second 4 s from the teaser: the one farthest from it")
        XCTAssertEqual(moments[0], 41.25, "the reel its best second apart from all")
    }

    // MARK: end to end

    static let recipeYAML = """
        name: recipe-test
        shop: 测试小店
        order_lag_seconds: 2
        weights: {orders: 1.0, order_value: 0.2}
        baseline_seconds: 60
        windows: {min: 4, max: 8, snap: 1, min_score: 1.5}
        reel: {min: 4, target: 16, max: 30}
        product_clips: {lead_in: 2, min: 5, max: 10}
        shorts: {count: 1, min: 4, max: 6, profile: tiny-short}
        teaser: {seconds: 3, snippets: 3}
        """
    static let shortProfile = """
        name: tiny-short
        video: {width: 180, height: 320, fit: crop, quality: 30, encoder_options: {preset: ultrafast}}
        audio: {bitrate: 64k}
        """

    /// A 60-s recording with chat bursts at 20–26 s and 40–44 s, orders at 54–56 s (2 s lag), two products:
    /// the plan finds them (a malformed chat line reported by number), the reel (12 % of the
    /// recording: its strongest moment, the first burst, after the teaser) has frames exact
    /// at every join and it carries chapters, product clips follow the timeline, and covers,
    /// metadata (Chinese text kept) and the timeline picture are made and not blank.
    func testHighlightsFromSignalFilesEndToEnd() throws {
        let spec = FixtureSpec(seconds: 60)
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("highlights")
        let dir = folder.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.recipeYAML.write(to: dir.appendingPathComponent("recipe-test.yaml"), atomically: true, encoding: .utf8)
        try Self.shortProfile.write(to: dir.appendingPathComponent("tiny-short.yaml"), atomically: true, encoding: .utf8)

        var chat: [String] = []
        for t in 0..<60 { chat.append(#"{"t": \#(Double(t) + 0.5), "user": "u\#(t)", "text": "hello"}"#) }
        for t in 20..<26 { for k in 0..<8 { chat.append(#"{"t": \#(Double(t) + Double(k) / 8), "user": "v\#(k)", "text": "这个颜色好看"}"#) } }
        for t in 40..<44 { for k in 0..<6 { chat.append(#"{"t": \#(Double(t) + Double(k) / 6), "user": "w\#(k)", "text": "买买买 颜色"}"#) } }
        chat.insert("{this is not json", at: 4)   // line 5
        let chatURL = folder.appendingPathComponent("rec.chat.jsonl")
        try chat.joined(separator: "\n").write(to: chatURL, atomically: true, encoding: .utf8)
        let ordersURL = folder.appendingPathComponent("rec.orders.csv")
        try (["t,product,kind,amount"] + (0..<6).map { "\(54 + Double($0) / 3),P2,order,99" }).joined(separator: "\n")
            .write(to: ordersURL, atomically: true, encoding: .utf8)
        let productsURL = folder.appendingPathComponent("rec.products.json")
        try #"[{"id": "P1", "title": "红色外套", "start": 10, "end": 28}, {"id": "P2", "title": "Blue Bag", "start": 30, "end": 55}]"#
            .write(to: productsURL, atomically: true, encoding: .utf8)

        let out = folder.appendingPathComponent("out")
        let run = try Reprise.run(["highlights", fixture.url.path, "-o", out.path, "--chat", chatURL.path, "--orders", ordersURL.path,
                                   "--products", productsURL.path, "--recipe", "test", "--profile-dir", dir.path, "--json"], timeout: 600)
        XCTAssertEqual(run.status, 0, run.transcript)
        guard run.status == 0, let plan = run.summary() else { return XCTFail("no plan:\n\(run.transcript)") }

        XCTAssertEqual(plan["signals"]?["chat"]?["badLines"]?.array?.compactMap { $0["line"]?.int }, [5], "the malformed chat line")
        let plannedWindows = plan["windows"]?.array ?? []
        let windows = plannedWindows.compactMap { w -> (Double, Double)? in
            guard let s = w["start"]?.double, let e = w["end"]?.double else { return nil }
            return (s, e)
        }
        XCTAssertEqual(windows.count, plannedWindows.count, "every window has a start and an end: \(plannedWindows)")
        for (a, b) in [(20.0, 26.0), (40.0, 44.0), (52.0, 54.0)] {
            XCTAssertTrue(windows.contains { $0.0 <= a + 1 && $0.1 >= b - 1 }, "no window over [\(a), \(b)]: \(windows)")
        }
        // At least windows.min; at most windows.max plus the edges snapped outwards (1 s each side).
        for w in windows { XCTAssertTrue((3.999...10.001).contains(w.1 - w.0), "window length \(w)") }

        let outputs = plan["outputs"]?.array ?? []
        func output(_ form: String) -> [JSONValue] { outputs.filter { $0["form"]?.string == form } }
        // Exactly these forms, nothing else: a reel, a teaser, a clip per product, one short.
        XCTAssertEqual(outputs.compactMap { $0["form"]?.string }.sorted(), ["product", "product", "reel", "short", "teaser"],
                       "forms made: \(outputs)")
        XCTAssertEqual(output("reel").count, 1)
        XCTAssertEqual(output("teaser").count, 1)
        XCTAssertEqual(output("product").count, 2)
        XCTAssertEqual(output("short").count, 1)
        // Every output names a file that exists.
        for o in outputs {
            guard let path = o["path"]?.string else {
                XCTFail("\(o["form"]?.string ?? "an output") has no path: \(o)")
                continue
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(o["form"]?.string ?? "?"): \(path) missing")
        }

        // Frames exact at every join: the file holds each range's frames, in order.
        for o in output("reel") + output("product") + output("teaser") {
            let form = o["form"]?.string ?? "?"
            guard let path = o["path"]?.string else { XCTFail("\(form) has no path: \(o)"); continue }
            let ranges = (o["ranges"]?.array ?? []).map { $0.array?.compactMap(\.double) ?? [] }
            XCTAssertFalse(ranges.isEmpty, "\(path): no ranges")
            XCTAssertTrue(ranges.allSatisfy { $0.count == 2 && $0[0] < $0[1] }, "\(path): ranges \(ranges)")
            let expected = ranges.filter { $0.count == 2 }.flatMap { r -> [Int] in
                Array(Int((r[0] * 30 - 1e-6).rounded(.up))..<Int((r[1] * 30 - 1e-6).rounded(.up)))
            }
            let read = try VideoReadback.read(URL(fileURLWithPath: path))
            XCTAssertFalse(expected.isEmpty, "\(path): no frames expected")
            XCTAssertEqual(read.indices, expected.map(Optional.some), "\(path): frames")
        }
        let reelPath = try XCTUnwrap(output("reel").first?["path"]?.string, "the reel has no path")
        let chapters = try Subprocess.checked("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", reelPath])
        let titles = (JSONValue.parse(chapters)?["chapters"]?.array ?? []).compactMap { $0["tags"]?["title"]?.string }
        XCTAssertEqual(titles.first, "Teaser")
        // The reel of a 60-s recording is held to 12 % of it: its strongest moment (which is kept
        // whatever its length); the plan lists the others, not in the reel.
        let inReel = plannedWindows.filter { $0["reel"]?.array != nil }
        XCTAssertEqual(inReel.count, 1, "\(plannedWindows)")
        XCTAssertEqual(titles.count, 1 + inReel.count, "a chapter per reel window after the teaser: \(titles)")
        XCTAssertTrue(titles.contains("红色外套"), "the product on screen names its chapter: \(titles)")

        // Product clips: the presentation plus lead-in, held to [5, 10] s, inside the product's time.
        for (o, span) in zip(output("product"), [(10.0, 28.0), (30.0, 55.0)]) {
            let r = o["ranges"]?.array?.first?.array?.compactMap(\.double) ?? []
            XCTAssertEqual(r.count, 2)
            guard r.count == 2 else { continue }
            XCTAssertTrue((5...10).contains(r[1] - r[0]), "product clip length \(r)")
            XCTAssertTrue(r[0] >= span.0 - 2 && r[1] <= span.1, "product clip \(r) outside \(span)")
        }

        // Covers: each from inside its own output, no two outputs on the same frame (they share no
        // single range here), and so no two byte-identical.
        var coverFrames: [Double] = []
        var coverBytes: [Data] = []
        for o in outputs {
            let ranges = (o["ranges"]?.array ?? []).map { $0.array?.compactMap(\.double) ?? [] }.filter { $0.count == 2 }
            guard let t = o["coverTime"]?.double else { XCTFail("\(o["path"]?.string ?? ""): no cover time"); continue }
            XCTAssertTrue(ranges.contains { $0[0] - 1e-3 <= t && t < $0[1] }, "\(o["form"]?.string ?? ""): cover at \(t) s outside \(ranges)")
            coverFrames.append(t)
            if let jpeg = o["covers"]?.array?.compactMap(\.string).first(where: { $0.hasSuffix("16x9.jpg") }) {
                coverBytes.append(try Data(contentsOf: URL(fileURLWithPath: jpeg)))
            }
        }
        XCTAssertEqual(coverFrames.count, outputs.count)
        XCTAssertEqual(Set(coverFrames.map { Int(($0 * 30).rounded()) }).count, coverFrames.count, "outputs share a cover frame: \(coverFrames)")
        XCTAssertEqual(Set(coverBytes).count, outputs.count, "byte-identical covers")

        // Covers, metadata, timeline.
        for o in outputs {
            let covers = o["covers"]?.array?.compactMap(\.string) ?? []
            XCTAssertEqual(covers.count, 4, "\(o["path"]?.string ?? ""): covers")
            for c in covers {
                let gray = try GrayFrames.decode(URL(fileURLWithPath: c))
                XCTAssertEqual([gray.width, gray.height], c.contains("16x9") ? [1280, 720] : [720, 1280], c)
                let picture = gray[0]
                XCTAssertGreaterThan(picture.sharpestEdge(x0: 0, y0: 0, x1: picture.width, y1: picture.height), 10, "\(c) is blank")
            }
            let metaPath = try XCTUnwrap(o["metadata"]?.string, "\(o["path"]?.string ?? ""): no metadata sidecar")
            let meta = try Data(contentsOf: URL(fileURLWithPath: metaPath))
            let value = JSONValue.parse(meta)
            XCTAssertTrue(value?["title"]?.string?.contains("测试小店") ?? false, "title: \(String(decoding: meta, as: UTF8.self))")
            XCTAssertNotNil(value?["sourceRanges"]?.array)
        }
        let reelMeta = JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: output("reel").first?["metadata"]?.string ?? "")))
        let tags = reelMeta?["tags"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(tags.contains("红色外套"), "product title in the tags: \(tags)")
        XCTAssertTrue(tags.contains("这个颜色好看"), "the chat's repeated message in the tags: \(tags)")
        XCTAssertFalse(tags.contains("颜色"), "no piece of a message: \(tags)")
        // The plan explains them: the metadata's plain list, with counts and sources.
        let explained = output("reel").first?["tags"]?.array ?? []
        XCTAssertEqual(explained.compactMap { $0["tag"]?.string }, tags)
        XCTAssertEqual(explained.first { $0["tag"]?.string == "这个颜色好看" }?["source"]?.string, "chat")
        XCTAssertGreaterThanOrEqual(explained.first { $0["tag"]?.string == "这个颜色好看" }?["count"]?.int ?? 0, 2)
        XCTAssertEqual(explained.first { $0["tag"]?.string == "红色外套" }?["source"]?.string, "product")
        let timeline = URL(fileURLWithPath: plan["timeline"]?.string ?? "")
        let picture = try GrayFrames.decode(timeline)
        XCTAssertEqual(picture.width, 1600)
        XCTAssertGreaterThan(picture[0].sharpestEdge(x0: 0, y0: 0, x1: picture.width, y1: picture.height), 30, "timeline picture is blank")
    }

    /// No signal files: a loud, busy stretch (30–40 s) of an otherwise quiet, still recording is found.
    func testLoudnessAndSceneFallbackFindsThePlantedStretch() throws {
        let folder = ScratchSpace.makeFolder("fallback")
        let input = folder.appendingPathComponent("quiet.mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y",
            // Still (a flat gray picture) except 30–40 s, where a moving test pattern cycles its colours.
            "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=70,hue=h='if(between(t,30,40),t*170,0)':s='if(between(t,30,40),3,1)',"
                + "drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill:enable='not(between(t,30,40))'",
            "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=70,volume='if(between(t,30,40),1,0.01)':eval=frame",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-shortest", input.path])
        let dir = folder.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.recipeYAML.write(to: dir.appendingPathComponent("recipe-test.yaml"), atomically: true, encoding: .utf8)
        let run = try Reprise.run(["highlights", input.path, "-o", folder.appendingPathComponent("out").path, "--recipe", "test",
                                   "--profile-dir", dir.path, "--plan-only"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let plan = run.summary()
        XCTAssertEqual(plan?["event"]?.string, "plan")
        let windows = (plan?["windows"]?.array ?? []).compactMap { w -> (Double, Double, [String])? in
            guard let s = w["start"]?.double, let e = w["end"]?.double else { return nil }
            return (s, e, w["reasons"]?.array?.compactMap(\.string) ?? [])
        }
        let best = windows.max { $0.1 - $0.0 < $1.1 - $1.0 }
        XCTAssertFalse(windows.isEmpty, run.transcript)
        XCTAssertTrue(windows.allSatisfy { $0.1 > 29 && $0.0 < 41 }, "windows outside the loud stretch: \(windows)")
        XCTAssertTrue(best?.2.contains { $0.hasPrefix("loudness") } ?? false, "\(windows)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path), "--plan-only made files")
    }
}

/// A small deterministic generator for synthetic series.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
