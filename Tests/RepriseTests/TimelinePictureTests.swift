import Foundation
import XCTest
@testable import RepriseHighlights

/// The timeline picture: drawn in memory, written as PNG, read back with ffprobe/ffmpeg as
/// outside witnesses, and checked where it matters (size, content, bands, spikes, speed).
final class TimelinePictureTests: XCTestCase {
    typealias Picture = TimelinePicture

    // MARK: Read-back

    struct Decoded {
        var width: Int
        var height: Int
        var pixels: [UInt8]
        func at(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        func same(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) -> Bool {
            let p = at(x, y)
            return p.0 == c.0 && p.1 == c.1 && p.2 == c.2
        }
    }

    /// The PNG's size from ffprobe and its RGB24 pixels from ffmpeg.
    func readBack(_ path: String) throws -> Decoded {
        let probe = try Subprocess.checked("ffprobe", ["-v", "error", "-select_streams", "v:0",
                                                      "-show_entries", "stream=width,height,codec_name",
                                                      "-of", "csv=p=0", path], timeout: 60)
        let fields = String(decoding: probe, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)
        XCTAssertEqual(fields.first, "png", "ffprobe: \(fields)")
        guard fields.count == 3, let w = Int(fields[1]), let h = Int(fields[2]) else {
            throw SubprocessError(description: "ffprobe gave no size for \(path): \(fields)")
        }
        let raw = try Subprocess.checked("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo",
                                                   "-pix_fmt", "rgb24", "-"], timeout: 60)
        XCTAssertEqual(raw.count, w * h * 3, "decoded byte count")
        return Decoded(width: w, height: h, pixels: [UInt8](raw))
    }

    func folder(_ label: String) -> URL { ScratchSpace.makeFolder("timeline-\(label)") }

    // MARK: Fixtures

    let chatColor: (UInt8, UInt8, UInt8) = (33, 102, 172)
    let ordersColor: (UInt8, UInt8, UInt8) = (214, 39, 40)
    let scoreColor: (UInt8, UInt8, UInt8) = (20, 20, 20)

    /// 600 s: chat is quiet (2–4 a second) with a spike of 60 at 300 s; orders come in bursts;
    /// the score ramps slowly.
    func tenMinutes() -> [Picture.Series] {
        let chat = (0 ..< 600).map { i -> Double in i == 300 ? 60 : 3 + sin(Double(i) / 7) }
        let orders = (0 ..< 600).map { i -> Double in (i / 40) % 3 == 0 ? Double(i % 5) : 0 }
        let score = (0 ..< 600).map { Double($0) / 600 }
        return [Picture.Series(name: "chat", values: chat, color: chatColor),
                Picture.Series(name: "orders", values: orders, color: ordersColor),
                Picture.Series(name: "score", values: score, color: scoreColor)]
    }

    let twoMarks = [Picture.Mark(start: 100, end: 160, label: "#1 4.2", kind: .reel),
                    Picture.Mark(start: 420, end: 450, label: "#2 3.1", kind: .short)]

    // MARK: Tests

    func testPictureShowsLanesBandsAndTheSpikeAndSurvivesPNG() throws {
        let series = tenMinutes()
        let width = 1200
        let image = Picture.render(series: series, marks: twoMarks, duration: 600,
                                   title: "rec-2024-05-01 highlights", width: width)
        let layout = Picture.layout(series: series, marks: twoMarks, duration: 600,
                                    title: "rec-2024-05-01 highlights", width: width)
        XCTAssertEqual(image.width, width)
        XCTAssertEqual(image.height, layout.height)
        XCTAssertEqual(image.pixels.count, image.width * image.height * 3)

        let path = folder("main").appendingPathComponent("timeline.png").path
        try Picture.writePNG(image, to: path)
        let png = try readBack(path)
        XCTAssertEqual(png.width, width, "the width asked for")
        XCTAssertEqual(png.height, image.height)
        XCTAssertTrue(png.pixels == image.pixels, "PNG is lossless: the file holds exactly the drawn picture")

        // Not blank: many colours, plenty of non-background.
        var colours = Set<Int>()
        var nonBackground = 0
        for i in stride(from: 0, to: png.pixels.count, by: 3) {
            let c = Int(png.pixels[i]) << 16 | Int(png.pixels[i + 1]) << 8 | Int(png.pixels[i + 2])
            colours.insert(c)
            if c != 0xFFFFFF { nonBackground += 1 }
        }
        XCTAssertGreaterThan(colours.count, 20, "a drawn picture has many distinct colours")
        XCTAssertGreaterThan(nonBackground, png.width * png.height / 5, "lanes, data and text cover the picture")

        // Sane geometry: the plot takes most of the width, the lanes sit in the picture.
        XCTAssertEqual(layout.lanes.count, 3)
        XCTAssertLessThan(layout.plotX0, width / 3)
        XCTAssertGreaterThan(layout.plotWidth, width / 2)
        XCTAssertLessThanOrEqual(layout.plotX0 + layout.plotWidth, width)
        XCTAssertGreaterThan(layout.lanesTop, 30, "title and labels above the lanes")
        XCTAssertLessThan(layout.lanesBottom, png.height - 20, "time axis below the lanes")

        // Bands: the reel colour is in every column of the first mark's span, in the lanes, and
        // nowhere far from it; likewise the short colour for the second mark.
        let laneRows = layout.lanesTop ..< layout.lanesBottom
        func columnHas(_ x: Int, _ c: (UInt8, UInt8, UInt8)) -> Bool {
            laneRows.contains { png.same(x, $0, c) }
        }
        func columns(_ from: Double, _ to: Double) -> ClosedRange<Int> {
            layout.column(at: from) ... layout.column(at: to)
        }
        let reel = Picture.bandColor(.reel), short = Picture.bandColor(.short)
        let plain = Picture.laneBackground
        XCTAssertFalse(reel == plain || short == plain || reel == short, "bands must show on an empty lane")
        for x in columns(101, 159) {
            XCTAssertTrue(columnHas(x, reel), "reel band at column \(x)")
            XCTAssertFalse(columnHas(x, short), "no short band at column \(x)")
        }
        for x in columns(425, 445) { XCTAssertTrue(columnHas(x, short), "short band at column \(x)") }
        for x in Array(columns(0, 90)) + Array(columns(175, 405)) + Array(columns(465, 600)) {
            XCTAssertFalse(columnHas(x, reel), "no reel band at column \(x)")
            XCTAssertFalse(columnHas(x, short), "no short band at column \(x)")
        }
        // Where the band starts and ends, measured on the picture, matches the mark's times.
        let reelColumns = (0 ..< png.width).filter { columnHas($0, reel) }
        let expectedStart = Double(layout.plotX0) + 100.0 / 600 * Double(layout.plotWidth)
        let expectedEnd = Double(layout.plotX0) + 160.0 / 600 * Double(layout.plotWidth)
        XCTAssertEqual(Double(reelColumns.first ?? -100), expectedStart, accuracy: 2.5)
        XCTAssertEqual(Double(reelColumns.last ?? -100), expectedEnd, accuracy: 2.5)

        // The spike: in the chat lane, the column at 300 s reaches much higher than a quiet one.
        let chatLane = layout.lanes[0]
        func top(_ x: Int, in lane: Picture.Lane, _ c: (UInt8, UInt8, UInt8)) -> Int? {
            (lane.top ... lane.bottom).first { png.same(x, $0, c) }
        }
        let spikeX = layout.column(at: 300.5), quietX = layout.column(at: 220.5)
        let spikeTop = try XCTUnwrap(top(spikeX, in: chatLane, chatColor), "spike column has the chat line")
        let quietTop = try XCTUnwrap(top(quietX, in: chatLane, chatColor), "quiet column has the chat line")
        XCTAssertLessThan(spikeTop, quietTop - chatLane.height / 2, "spike reaches far higher than quiet chat")
        XCTAssertLessThanOrEqual(spikeTop - chatLane.top, Picture.laneHeadroom + 2, "the lane's maximum reaches its top")
        // Each lane is scaled to its own maximum: the score (max 1) also reaches its lane's top.
        let scoreLane = layout.lanes[2]
        let lateTop = try XCTUnwrap(top(layout.column(at: 599), in: scoreLane, scoreColor))
        let earlyTop = try XCTUnwrap(top(layout.column(at: 60), in: scoreLane, scoreColor))
        XCTAssertLessThanOrEqual(lateTop - scoreLane.top, Picture.laneHeadroom + 2)
        XCTAssertGreaterThan(earlyTop, lateTop + scoreLane.height / 2, "a rising score rises")
        // The chat line stays in its lane.
        for x in layout.plotX0 ..< layout.plotX0 + layout.plotWidth {
            for y in layout.lanes[1].top ... layout.lanes[1].bottom { XCTAssertFalse(png.same(x, y, chatColor)) }
        }

        // Text was drawn: dark pixels in the title row and on the left of each lane.
        let dark = Picture.textColor
        XCTAssertTrue((0 ..< 300).contains { x in (10 ..< 32).contains { png.same(x, $0, dark) } }, "title")
        for lane in layout.lanes {
            XCTAssertTrue((0 ..< layout.plotX0).contains { x in (lane.top ..< lane.top + 24).contains { png.same(x, $0, dark) } },
                          "lane name")
        }
        // Labels above the lanes, in the marks' colours.
        let reelText = Picture.labelTextColor(.reel)
        let labelRows = (layout.lanesTop - 3 * Picture.labelRowHeight) ..< layout.lanesTop
        XCTAssertTrue(columns(100, 130).contains { x in labelRows.contains { png.same(x, max(0, $0), reelText) } },
                      "the first mark's label is above its band")
    }

    func testThreeHourRecordingRendersQuickly() throws {
        let n = 10_800
        var seed: UInt64 = 42
        func next() -> Double {   // deterministic noise
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Double(seed >> 33) / Double(1 << 31)
        }
        let series = [
            Picture.Series(name: "chat", values: (0 ..< n).map { _ in next() * 20 }, color: chatColor),
            Picture.Series(name: "orders", values: (0 ..< n).map { i in i % 900 < 60 ? next() * 8 : 0 }, color: ordersColor),
            Picture.Series(name: "score", values: (0 ..< n).map { i in sin(Double(i) / 300) }, color: scoreColor),
        ]
        let kinds: [Picture.Mark.Kind] = [.reel, .short, .product, .teaser]
        let marks = (0 ..< 24).map { i in
            Picture.Mark(start: Double(i * 430 + 60), end: Double(i * 430 + 120), label: "#\(i + 1) \(Double(i % 9) + 0.5)",
                         kind: kinds[i % 4])
        }
        let started = Date()
        let image = Picture.render(series: series, marks: marks, duration: Double(n), title: "3 hours", width: 1600)
        let renderSeconds = Date().timeIntervalSince(started)
        let path = folder("long").appendingPathComponent("long.png").path
        let writeStarted = Date()
        try Picture.writePNG(image, to: path)
        let writeSeconds = Date().timeIntervalSince(writeStarted)
        print("timeline picture, 3 h x 3 series, 24 marks: render \(String(format: "%.3f", renderSeconds)) s, "
              + "PNG \(String(format: "%.3f", writeSeconds)) s, \(image.width)x\(image.height)")
        XCTAssertLessThan(renderSeconds, 10, "rendering 3 hours must be quick (aim: well under 2 s)")

        let png = try readBack(path)
        XCTAssertEqual(png.width, 1600)
        XCTAssertEqual(png.height, image.height)
        // 24 labels at 1600 px need staggering, and the axis is in h:mm:ss with 5–12 ticks.
        let layout = Picture.layout(series: series, marks: marks, duration: Double(n), title: "3 hours", width: 1600)
        XCTAssertGreaterThan(layout.labelRowCount, 1)
        XCTAssertTrue((5 ... 12).contains(layout.ticks.count), "\(layout.ticks)")
        XCTAssertEqual(Picture.timeLabel(layout.ticks[1], step: layout.tickStep, duration: Double(n)).split(separator: ":").count, 3)
    }

    func testEmptyZeroAndOddInputsDoNotCrash() throws {
        let dir = folder("odd")
        let zero = Picture.Series(name: "zero", values: Array(repeating: 0, count: 120), color: (200, 0, 200))
        let cases: [(String, [Picture.Series], [Picture.Mark], Double, Int)] = [
            ("empty-values", [Picture.Series(name: "empty", values: [])], twoMarks, 600, 800),
            ("all-zero", [zero], [], 120, 800),
            ("no-series", [], twoMarks, 600, 800),
            ("sub-second", [Picture.Series(name: "x", values: [5])], [Picture.Mark(start: 0.1, end: 0.3, label: "a")], 0.5, 800),
            ("zero-duration", [Picture.Series(name: "x", values: [1, 2, 3])], [], 0, 800),
            ("nan-duration", [Picture.Series(name: "x", values: [1, 2, 3])], [], .nan, 800),
            ("odd-values", [Picture.Series(name: "x", values: [.nan, .infinity, -3, 2, -.infinity])],
             [Picture.Mark(start: .nan, end: 3, label: "nan"), Picture.Mark(start: 9, end: 2, label: "reversed"),
              Picture.Mark(start: 50, end: 60, label: "outside"), Picture.Mark(start: -5, end: 1, label: "before")], 5, 800),
            ("narrow", tenMinutes(), twoMarks, 600, 40),
            ("tiny", tenMinutes(), twoMarks, 600, 1),
            ("more-values-than-duration", [Picture.Series(name: "x", values: Array(repeating: 1, count: 1000))], [], 10, 800),
        ]
        for (name, series, marks, duration, width) in cases {
            let image = Picture.render(series: series, marks: marks, duration: duration, title: name, width: width)
            XCTAssertEqual(image.width, width, name)
            XCTAssertGreaterThan(image.height, 0, name)
            let path = dir.appendingPathComponent("\(name).png").path
            try Picture.writePNG(image, to: path)
            let png = try readBack(path)
            XCTAssertEqual(png.width, width, name)
            XCTAssertEqual(png.height, image.height, name)
        }

        // An all-zero series is a flat lane: its colour appears only in the swatch beside the name.
        let image = Picture.render(series: [zero], marks: [], duration: 120, title: "zero", width: 800)
        let layout = Picture.layout(series: [zero], marks: [], duration: 120, title: "zero", width: 800)
        for x in layout.plotX0 ..< layout.plotX0 + layout.plotWidth {
            for y in layout.lanes[0].top ... layout.lanes[0].bottom {
                let p = image[x, y]
                XCTAssertFalse(p == (200, 0, 200), "zero lane drew data at (\(x), \(y))")
            }
        }
        // Marks outside the recording or not a number are left out; a reversed one is drawn.
        let odd = Picture.layout(series: [], marks: [Picture.Mark(start: .nan, end: 3, label: "n"),
                                                     Picture.Mark(start: 9, end: 2, label: "r"),
                                                     Picture.Mark(start: 50, end: 60, label: "o")],
                                 duration: 5, title: "", width: 800)
        XCTAssertNil(odd.labelRows[0])
        XCTAssertNotNil(odd.labelRows[1])
        XCTAssertNil(odd.labelRows[2])
    }

    func testNonASCIITextIsDrawnAsBoxes() throws {
        let series = [Picture.Series(name: "弹幕 chat", values: (0 ..< 60).map { Double($0 % 7) })]
        let marks = [Picture.Mark(start: 10, end: 20, label: "#1 爆款🔥 4.2", kind: .product),
                     Picture.Mark(start: 12, end: 30, label: "👨‍👩‍👧 teaser", kind: .teaser)]
        let image = Picture.render(series: series, marks: marks, duration: 60, title: "直播回放 — 2024/05/01 \u{7}\t", width: 900)
        let path = folder("unicode").appendingPathComponent("unicode.png").path
        try Picture.writePNG(image, to: path)
        let png = try readBack(path)
        XCTAssertEqual(png.width, 900)

        XCTAssertEqual(Array(BitmapFont.glyph("爆")), Array(BitmapFont.glyph("🔥")), "one box for anything outside ASCII")
        XCTAssertNotEqual(Array(BitmapFont.glyph("爆")), Array(BitmapFont.glyph("A")))
        XCTAssertFalse(BitmapFont.covers("爆"))
        XCTAssertTrue(BitmapFont.covers("~"))
        // Every printable ASCII character but space has ink; space has none.
        for a in UInt8(0x21) ... 0x7E {
            XCTAssertTrue(BitmapFont.glyph(Character(UnicodeScalar(a))).contains { $0 != 0 }, "glyph \(a)")
        }
        XCTAssertFalse(BitmapFont.glyph(" ").contains { $0 != 0 })
        // Boxes are drawn: the title (all boxes at first) puts ink in the title row.
        XCTAssertTrue((12 ..< 60).contains { x in (12 ..< 28).contains { png.same(x, $0, Picture.textColor) } })
        // The two marks overlap in time, so their labels go to different rows.
        let layout = Picture.layout(series: series, marks: marks, duration: 60, title: "", width: 900)
        XCTAssertNotEqual(layout.labelRows[0], layout.labelRows[1])
    }

    func testTicksLabelsAndStaggering() {
        for (duration, width) in [(0.5, 1400), (3.0, 1400), (59.0, 1400), (600.0, 1400), (3599.0, 1400),
                                  (3600.0, 1400), (10_800.0, 1400), (86_400.0, 1400), (7.0, 1000), (45_000.0, 1600)] {
            let (step, ticks) = Picture.timeTicks(duration: duration, plotWidth: width)
            XCTAssertTrue((5 ... 12).contains(ticks.count), "\(duration) s: \(ticks.count) ticks of \(step)")
            XCTAssertEqual(ticks.first, 0)
            XCTAssertLessThanOrEqual(ticks.last!, duration + 1e-9)
        }
        XCTAssertEqual(Picture.timeLabel(90, step: 30, duration: 600), "1:30")
        XCTAssertEqual(Picture.timeLabel(3725, step: 600, duration: 10_800), "1:02:05")
        XCTAssertEqual(Picture.timeLabel(0, step: 1800, duration: 10_800), "0:00:00")
        XCTAssertEqual(Picture.timeLabel(0.3, step: 0.1, duration: 0.5), "0:00.3")
        XCTAssertEqual(Picture.timeLabel(0.25, step: 0.05, duration: 0.5), "0:00.25")
        XCTAssertEqual(Picture.formatValue(42), "42")
        XCTAssertEqual(Picture.formatValue(4.25), "4.25")
        XCTAssertEqual(Picture.formatValue(0.5), "0.5")
        XCTAssertEqual(Picture.formatValue(-0.07), "-0.07")

        // Far apart: one row. Close together: staggered.
        let apart = [Picture.Mark(start: 10, end: 20, label: "#1 4.2"), Picture.Mark(start: 400, end: 420, label: "#2 3.0")]
        XCTAssertEqual(Picture.layout(series: [], marks: apart, duration: 600, title: "", width: 1600).labelRows, [0, 0])
        let close = [Picture.Mark(start: 10, end: 20, label: "#1 4.2"), Picture.Mark(start: 14, end: 40, label: "#2 3.0"),
                     Picture.Mark(start: 18, end: 40, label: "#3 2.0")]
        XCTAssertEqual(Picture.layout(series: [], marks: close, duration: 600, title: "", width: 1600).labelRows, [0, 1, 2])

        // Column aggregation keeps a one-second spike however many seconds share a column.
        var values = Array(repeating: 1.0, count: 10_800)
        values[5_000] = 99
        let columns = Picture.columnExtremes(values, duration: 10_800, columns: 1000)
        XCTAssertEqual(columns.compactMap { $0?.max }.max(), 99)
        // Second 5000 (5000 ..< 5001) lies in column 462 (4989.6 ..< 5000.4) and 463: in both, no more.
        XCTAssertEqual(columns.indices.filter { columns[$0]?.max == 99 }, [462, 463])
        XCTAssertEqual(columns[0]?.max, 1)
    }

    func testWritePNGIsAtomicAndReportsThePath() throws {
        let dir = folder("atomic")
        let image = Picture.render(series: tenMinutes(), marks: twoMarks, duration: 600, title: "t", width: 640)
        let path = dir.appendingPathComponent("out.png").path
        try Picture.writePNG(image, to: path)
        try Picture.writePNG(image, to: path)   // replaces
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"], "no temporary left")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")

        let missing = dir.appendingPathComponent("no-such-folder/out.png").path
        XCTAssertThrowsError(try Picture.writePNG(image, to: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
        XCTAssertThrowsError(try Picture.writePNG(RGBImage(width: 0, height: 0, background: (0, 0, 0)), to: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])

        // The image type itself.
        var small = RGBImage(width: 3, height: 2, background: (1, 2, 3))
        XCTAssertTrue(small[2, 1] == (1, 2, 3))
        small[1, 0] = (9, 8, 7)
        small[5, 5] = (9, 9, 9)   // outside: ignored
        XCTAssertEqual(Array(small.pixels[3 ..< 6]), [9, 8, 7])
        XCTAssertEqual(small.pixels.count, 18)
    }
}
