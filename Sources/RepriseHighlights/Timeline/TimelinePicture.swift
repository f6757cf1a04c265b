import CFFmpeg
import Foundation
import RepriseCore
import RepriseMedia
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The timeline picture of one recording: the per-second signal series over time, one lane each,
/// with the chosen highlight windows as translucent bands across all lanes and their labels above,
/// so an operator can see why each clip was picked. Drawn in memory with a built-in bitmap font
/// (no font files) and written as PNG through libavcodec.
///
/// Layout, top to bottom: the title (with a legend of the mark kinds on the right), the mark
/// labels (staggered into rows where they would overlap), the lanes (name and maximum on the
/// left; values as a filled area with a line on top, each lane scaled to its own maximum, a light
/// baseline), and the time axis with 5–12 ticks labelled m:ss or h:mm:ss.
public struct TimelinePicture {
    public struct Series: Sendable {
        public var name: String
        /// One value per second of the recording (value `i` covers seconds `i ..< i+1`).
        public var values: [Double]
        public var color: (UInt8, UInt8, UInt8)

        public init(name: String, values: [Double], color: (UInt8, UInt8, UInt8) = (33, 102, 172)) {
            self.name = name; self.values = values; self.color = color
        }
    }

    public struct Mark: Sendable {
        /// Seconds from the start of the recording.
        public var start: Double
        public var end: Double
        public var label: String
        public var kind: Kind

        public enum Kind: String, Sendable, CaseIterable {
            case reel, short, product, teaser
        }

        public init(start: Double, end: Double, label: String, kind: Kind = .reel) {
            self.start = start; self.end = end; self.label = label; self.kind = kind
        }
    }

    // MARK: Look

    static let background: TimelineRGB = (255, 255, 255)
    static let laneBackground: TimelineRGB = (246, 247, 249)
    static let gridColor: TimelineRGB = (226, 228, 233)
    static let baselineColor: TimelineRGB = (176, 179, 186)
    static let textColor: TimelineRGB = (28, 30, 36)
    static let mutedTextColor: TimelineRGB = (110, 114, 122)
    static let axisColor: TimelineRGB = (120, 124, 132)
    /// Opacity of a mark's band over the lanes, of 256.
    static let bandAlpha = 72
    /// Opacity of a series' filled area, of 256.
    static let fillAlpha = 96

    static func kindColor(_ kind: Mark.Kind) -> TimelineRGB {
        switch kind {
        case .reel: return (232, 114, 12)
        case .short: return (37, 117, 222)
        case .product: return (26, 158, 84)
        case .teaser: return (163, 62, 196)
        }
    }

    /// The colour a band of `kind` gives an empty stretch of lane (where no signal is drawn).
    static func bandColor(_ kind: Mark.Kind) -> TimelineRGB {
        RGBImage.blend(laneBackground, kindColor(kind), alpha: bandAlpha)
    }

    /// Darker shade for a mark's label text, so it reads on white.
    static func labelTextColor(_ kind: Mark.Kind) -> TimelineRGB {
        let c = kindColor(kind)
        return (UInt8(Int(c.0) * 7 / 10), UInt8(Int(c.1) * 7 / 10), UInt8(Int(c.2) * 7 / 10))
    }

    // MARK: Geometry

    static let pad = 12
    static let textScale = 2
    static let titleTop = 12
    static let labelRowHeight = 22
    static let maxLabelRows = 6
    static let laneHeight = 96
    static let laneGap = 10
    static let laneHeadroom = 6
    static let tickLength = 6

    struct Lane: Equatable {
        var top: Int
        var height: Int
        /// The lowest row of the lane, where the baseline is drawn.
        var bottom: Int { top + height - 1 }
    }

    /// Where everything goes; computed before drawing (and by the tests, to know where to look).
    struct Layout {
        var width: Int
        var height: Int
        var duration: Double
        var nameX: Int
        var nameWidth: Int
        var plotX0: Int
        var plotWidth: Int
        var labelsTop: Int
        var labelRowCount: Int
        /// Per mark (same order as given): its label row, or nil when the mark is not drawn
        /// (outside the recording, or not a number).
        var labelRows: [Int?]
        var lanes: [Lane]
        var lanesTop: Int
        var lanesBottom: Int   // one past the last lane's bottom row
        var axisY: Int
        var tickStep: Double
        var ticks: [Double]

        /// Continuous x of time `t` (seconds), at the left edge of the plot for 0.
        func x(at t: Double) -> Double {
            Double(plotX0) + t / duration * Double(plotWidth)
        }
        /// The pixel column holding time `t`.
        func column(at t: Double) -> Int {
            min(plotX0 + plotWidth - 1, max(plotX0, Int(x(at: t).rounded(.down))))
        }
        /// First and one-past-last columns a band for `start ..< end` covers (at least one).
        func columns(from start: Double, to end: Double) -> (Int, Int) {
            let a = max(plotX0, Int(x(at: start).rounded(.down)))
            let b = min(plotX0 + plotWidth, max(a + 1, Int(x(at: end).rounded(.up))))
            return (a, b)
        }
        /// The row of the top edge of mark label row `row` (row 0 is nearest the lanes).
        func labelY(row: Int) -> Int {
            labelsTop + (labelRowCount - 1 - row) * TimelinePicture.labelRowHeight
        }
    }

    /// A recording length that can be drawn: the given duration when it is a positive number,
    /// else the longest series, else one second.
    static func effectiveDuration(_ duration: Double, series: [Series]) -> Double {
        if duration.isFinite && duration > 0 { return duration }
        let longest = series.map(\.values.count).max() ?? 0
        return longest > 0 ? Double(longest) : 1
    }

    /// A mark clamped to the recording, or nil when nothing of it is inside.
    static func visibleSpan(_ mark: Mark, duration: Double) -> (Double, Double)? {
        guard mark.start.isFinite, mark.end.isFinite else { return nil }
        let s = max(0, min(mark.start, mark.end)), e = min(duration, max(mark.start, mark.end))
        if s > duration || e < 0 || s > e { return nil }
        return (s, e)
    }

    static func layout(series: [Series], marks: [Mark], duration: Double, title: String,
                       width: Int = 1600) -> Layout {
        let W = max(1, width)
        let d = effectiveDuration(duration, series: series)
        let s = textScale

        // Name column: the widest name (or "max" caption), within a quarter of the picture.
        var nameWidth = series.map { BitmapFont.width(of: $0.name, scale: s) }.max() ?? 0
        nameWidth = max(nameWidth, 100)
        nameWidth = min(nameWidth, max(0, W / 4))
        var plotX0 = pad + nameWidth + pad
        let rightMargin = 2 * pad
        if plotX0 > W / 3 { plotX0 = W / 3 }
        var plotWidth = W - plotX0 - rightMargin
        if plotWidth < W / 2 { plotWidth = max(1, W - plotX0 - (W > 8 ? 2 : 0)) }
        plotWidth = max(1, min(plotWidth, W - plotX0))
        if plotX0 >= W { plotX0 = 0; plotWidth = W }
        nameWidth = max(0, min(nameWidth, plotX0 - 2 * pad))

        var layout = Layout(width: W, height: 0, duration: d, nameX: pad, nameWidth: nameWidth,
                            plotX0: plotX0, plotWidth: plotWidth, labelsTop: 0, labelRowCount: 0,
                            labelRows: Array(repeating: nil, count: marks.count), lanes: [],
                            lanesTop: 0, lanesBottom: 0, axisY: 0, tickStep: 1, ticks: [])

        // Mark labels: in order of start, each in the lowest row where it clears the labels
        // already there; when every row is taken, the row that frees up first.
        var rowEnds: [Int] = []
        func key(_ i: Int) -> Double { marks[i].start.isFinite ? min(marks[i].start, marks[i].end) : 0 }
        let order = marks.indices.sorted { (key($0), $0) < (key($1), $1) }
        for i in order {
            guard let (start, end) = visibleSpan(marks[i], duration: d) else { continue }
            let x0 = layout.columns(from: start, to: end).0
            let w = labelWidth(marks[i].label)
            let x = labelX(x0, width: w, imageWidth: W)
            var row = rowEnds.firstIndex { $0 + pad <= x }
            if row == nil {
                if rowEnds.count < maxLabelRows { rowEnds.append(Int.min); row = rowEnds.count - 1 }
                else { row = rowEnds.indices.min { rowEnds[$0] < rowEnds[$1] } }
            }
            rowEnds[row!] = max(rowEnds[row!], x + w)
            layout.labelRows[i] = row
        }
        layout.labelRowCount = rowEnds.count

        layout.labelsTop = titleTop + BitmapFont.lineHeight(scale: s) + pad
        layout.lanesTop = layout.labelsTop + layout.labelRowCount * labelRowHeight
            + (layout.labelRowCount > 0 ? 4 : 0)
        var y = layout.lanesTop
        for _ in 0 ..< max(1, series.count) {
            layout.lanes.append(Lane(top: y, height: laneHeight))
            y += laneHeight + laneGap
        }
        layout.lanesBottom = y - laneGap
        layout.axisY = layout.lanesBottom + 2
        layout.height = layout.axisY + tickLength + 4 + BitmapFont.lineHeight(scale: s) + pad

        let (step, ticks) = timeTicks(duration: d, plotWidth: plotWidth)
        layout.tickStep = step
        layout.ticks = ticks
        return layout
    }

    /// Width of a mark label: a 3-pixel flag, a gap, the text.
    static func labelWidth(_ text: String) -> Int {
        5 + BitmapFont.width(of: text, scale: textScale)
    }

    /// A label starts at its band's first column, moved left if it would run off the picture.
    static func labelX(_ bandX: Int, width: Int, imageWidth: Int) -> Int {
        max(0, min(bandX, imageWidth - width - 2))
    }

    // MARK: Time axis

    /// Tick spacing and tick times for the axis: the finest "nice" step that gives at most 12
    /// ticks whose labels do not collide (5–12 ticks for ordinary lengths and widths).
    static func timeTicks(duration: Double, plotWidth: Int) -> (Double, [Double]) {
        var steps: [Double] = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300,
                               600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400]
        while steps.last! < duration { steps.append(steps.last! * 2) }
        var chosen = steps.last!
        for step in steps {
            let count = Int((duration / step + 1e-9).rounded(.down)) + 1
            if count > 12 { continue }
            let labelPixels = BitmapFont.width(of: timeLabel(duration, step: step, duration: duration),
                                               scale: textScale) + 2 * pad
            let spacing = step / duration * Double(plotWidth)
            if count > 1 && spacing < Double(labelPixels) { continue }
            chosen = step
            break
        }
        var ticks: [Double] = []
        var k = 0.0
        while k * chosen <= duration + 1e-9 && ticks.count < 1000 {
            ticks.append(k * chosen)
            k += 1
        }
        return (chosen, ticks)
    }

    /// "m:ss" (recordings under an hour) or "h:mm:ss", with tenths or hundredths when the
    /// step is under a second.
    static func timeLabel(_ t: Double, step: Double, duration: Double) -> String {
        let decimals = step >= 1 ? 0 : (step * 10).rounded() == step * 10 ? 1 : 2
        let unit = decimals == 0 ? 1.0 : decimals == 1 ? 10.0 : 100.0
        let total = Int64((max(0, t) * unit).rounded())
        let frac = total % Int64(unit)
        let secs = total / Int64(unit)
        let h = secs / 3600, m = (secs % 3600) / 60, sec = secs % 60
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = duration >= 3600 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
        if decimals == 1 { text += ".\(frac)" }
        if decimals == 2 { text += "." + two(frac) }
        return text
    }

    // MARK: Series

    /// Per pixel column, the largest and smallest value among the seconds the column covers
    /// (nil where the series has no value there). Non-finite values are skipped.
    static func columnExtremes(_ values: [Double], duration: Double, columns: Int) -> [(max: Double, min: Double)?] {
        guard columns > 0 else { return [] }
        var out = [(max: Double, min: Double)?](repeating: nil, count: columns)
        let n = values.count
        guard n > 0 else { return out }
        let perColumn = duration / Double(columns)
        values.withUnsafeBufferPointer { v in
            for c in 0 ..< columns {
                let t0 = Double(c) * perColumn, t1 = Double(c + 1) * perColumn
                let lo = max(0, Int(t0.rounded(.down)))
                var hi = min(n, Int(t1.rounded(.up)))
                if hi <= lo { hi = min(n, lo + 1) }
                if lo >= hi { continue }
                var mx = -Double.infinity, mn = Double.infinity
                for i in lo ..< hi {
                    let x = v[i]
                    if !x.isFinite { continue }
                    if x > mx { mx = x }
                    if x < mn { mn = x }
                }
                if mx >= mn { out[c] = (mx, mn) }
            }
        }
        return out
    }

    /// Short text for a lane's maximum: whole numbers as such, others to two decimals.
    static func formatValue(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        if abs(v) >= 1e15 { return "\(v)" }
        if v == v.rounded() { return "\(Int64(v))" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return "\(Int64(r))" }
        let whole = Int64(r.rounded(.towardZero))
        let cents = Int64((abs(r - Double(whole)) * 100).rounded())
        let sign = r < 0 && whole == 0 ? "-" : ""
        let fraction = cents % 10 == 0 ? "\(cents / 10)" : (cents < 10 ? "0\(cents)" : "\(cents)")
        return "\(sign)\(whole).\(fraction)"
    }

    // MARK: Drawing

    public static func render(series: [Series], marks: [Mark], duration: Double, title: String,
                              width: Int = 1600) -> RGBImage {
        let L = layout(series: series, marks: marks, duration: duration, title: title, width: width)
        var image = RGBImage(width: L.width, height: L.height, background: background)
        let s = textScale
        let plotEnd = L.plotX0 + L.plotWidth

        // Title, with the legend of the mark kinds present on the right.
        let kinds = Mark.Kind.allCases.filter { k in
            marks.indices.contains { marks[$0].kind == k && L.labelRows[$0] != nil }
        }
        var legendX = L.width - pad
        var legend: [(Mark.Kind, Int)] = []
        for k in kinds.reversed() {
            let w = 14 + BitmapFont.width(of: k.rawValue, scale: s)
            if legendX - w < L.width / 2 { break }
            legendX -= w
            legend.insert((k, legendX), at: 0)
            legendX -= pad
        }
        for (k, x) in legend {
            image.fillRect(x: x, y: titleTop + 2, width: 10, height: 10, color: kindColor(k))
            image.drawText(k.rawValue, x: x + 14, y: titleTop, scale: s, color: labelTextColor(k))
        }
        let titleRoom = (legend.first?.1 ?? L.width) - 2 * pad
        let shownTitle = BitmapFont.fitting(title, maxWidth: titleRoom, scale: s)
        image.drawText(shownTitle, x: pad, y: titleTop, scale: s, color: textColor)
        image.drawText(shownTitle, x: pad + 1, y: titleTop, scale: s, color: textColor)  // bold

        // Lanes and the tick grid.
        for lane in L.lanes {
            image.fillRect(x: L.plotX0, y: lane.top, width: L.plotWidth, height: lane.height, color: laneBackground)
        }
        for t in L.ticks.dropFirst() {
            let x = L.column(at: t)
            for lane in L.lanes {   // dashed, so bands and data stay readable across it
                for y in stride(from: lane.top, to: lane.bottom - 1, by: 4) {
                    image.fillRect(x: x, y: y, width: 1, height: 2, color: gridColor)
                }
            }
        }

        // Bands across all lanes, edges in the solid kind colour.
        var spans: [Int: (Int, Int)] = [:]
        for (i, mark) in marks.enumerated() {
            guard L.labelRows[i] != nil, let (start, end) = visibleSpan(mark, duration: L.duration) else { continue }
            let (x0, x1) = L.columns(from: start, to: end)
            spans[i] = (x0, x1)
            image.blendRect(x: x0, y: L.lanesTop, width: x1 - x0, height: L.lanesBottom - L.lanesTop,
                            color: kindColor(mark.kind), alpha: bandAlpha)
        }

        // Series: filled area (translucent, so bands show through) with a line on top.
        for (index, lane) in L.lanes.enumerated() {
            guard index < series.count else {
                image.drawText("no signals", x: L.plotX0 + pad, y: lane.top + pad, scale: s, color: mutedTextColor)
                continue
            }
            drawSeries(series[index], lane: lane, layout: L, into: &image)
        }
        for lane in L.lanes {
            image.horizontalLine(x0: L.plotX0, x1: plotEnd - 1, y: lane.bottom, color: baselineColor)
        }
        for (i, mark) in marks.enumerated() {
            guard let (x0, x1) = spans[i] else { continue }
            let c = kindColor(mark.kind)
            image.verticalLine(x: x0, y0: L.lanesTop, y1: L.lanesBottom - 1, color: c)
            if x1 - 1 > x0 { image.verticalLine(x: x1 - 1, y0: L.lanesTop, y1: L.lanesBottom - 1, color: c) }
        }

        // Mark labels: leaders first, then each label on a white box that hides leaders behind it.
        for (i, mark) in marks.enumerated() {
            guard let row = L.labelRows[i], let (x0, _) = spans[i] else { continue }
            let y = L.labelY(row: row)
            image.fillRect(x: x0, y: y, width: 2, height: L.lanesTop - y, color: kindColor(mark.kind))
        }
        for (i, mark) in marks.enumerated() {
            guard let row = L.labelRows[i], let (x0, _) = spans[i] else { continue }
            let y = L.labelY(row: row)
            let w = labelWidth(mark.label)
            let x = labelX(x0, width: w, imageWidth: L.width)
            image.fillRect(x: x, y: y, width: w + 3, height: labelRowHeight - 2, color: background)
            image.fillRect(x: x, y: y, width: 3, height: labelRowHeight - 2, color: kindColor(mark.kind))
            image.drawText(mark.label, x: x + 5, y: y + 2, scale: s, color: labelTextColor(mark.kind))
        }

        // Names and maxima on the left.
        for (index, lane) in L.lanes.enumerated() where index < series.count && L.nameWidth > 0 {
            let name = BitmapFont.fitting(series[index].name, maxWidth: L.nameWidth, scale: s)
            image.drawText(name, x: L.nameX, y: lane.top + 4, scale: s, color: textColor)
            let finite = series[index].values.filter(\.isFinite)
            let caption = finite.isEmpty ? "no data" : "max " + formatValue(finite.max()!)
            image.drawText(BitmapFont.fitting(caption, maxWidth: L.nameWidth, scale: 1),
                           x: L.nameX, y: lane.top + 4 + BitmapFont.lineHeight(scale: s) + 4,
                           scale: 1, color: mutedTextColor)
            image.fillRect(x: L.nameX, y: lane.top + 4 + BitmapFont.lineHeight(scale: s) + 16,
                           width: min(24, L.nameWidth), height: 4, color: series[index].color)
        }

        // Time axis.
        image.horizontalLine(x0: L.plotX0, x1: plotEnd - 1, y: L.axisY, color: axisColor)
        for t in L.ticks {
            let x = L.column(at: t)
            image.verticalLine(x: x, y0: L.axisY, y1: L.axisY + tickLength, color: axisColor)
            let text = timeLabel(t, step: L.tickStep, duration: L.duration)
            let tw = BitmapFont.width(of: text, scale: s)
            let tx = max(0, min(L.width - tw - 1, x - tw / 2))
            image.drawText(text, x: tx, y: L.axisY + tickLength + 4, scale: s, color: textColor)
        }
        return image
    }

    private static func drawSeries(_ series: Series, lane: Lane, layout L: Layout, into image: inout RGBImage) {
        let columns = columnExtremes(series.values, duration: L.duration, columns: L.plotWidth)
        var hi = 0.0, lo = 0.0
        for case let c? in columns { hi = max(hi, c.max); lo = min(lo, c.min) }
        let range = hi - lo
        guard range > 0, range.isFinite else { return }   // empty or all zero: a flat lane
        let usable = Double(lane.height - laneHeadroom - 1)
        let bottom = lane.bottom
        let zeroY = bottom - Int(((0 - lo) / range * usable).rounded())
        func y(_ v: Double) -> Int {
            var h = Int(((v - lo) / range * usable).rounded())
            if v > 0 && bottom - h >= zeroY { h = bottom - zeroY + 1 }     // any activity shows
            if v < 0 && bottom - h <= zeroY { h = bottom - zeroY - 1 }
            return min(bottom, max(lane.top, bottom - h))
        }
        if zeroY < bottom {   // values below zero: a baseline at zero as well
            image.horizontalLine(x0: L.plotX0, x1: L.plotX0 + L.plotWidth - 1, y: zeroY, color: baselineColor)
        }
        let color = series.color
        var previousTop: Int? = nil
        for (c, column) in columns.enumerated() {
            let x = L.plotX0 + c
            guard let column, column.max != 0 || column.min != 0 else {
                if let p = previousTop, p != zeroY { image.verticalLine(x: x, y0: p, y1: zeroY, color: color) }
                previousTop = nil
                continue
            }
            let top = y(max(column.max, 0)), low = y(min(column.min, 0))
            image.blendRect(x: x, y: top, width: 1, height: low - top + 1, color: color, alpha: fillAlpha)
            let lineY = y(column.max)
            let from = previousTop ?? zeroY
            image.verticalLine(x: x, y0: from, y1: lineY, color: color)
            if lineY + 1 < zeroY { image.fillRect(x: x, y: lineY + 1, width: 1, height: 1, color: color) }
            previousTop = lineY
        }
    }

    // MARK: PNG

    /// Writes `image` as PNG (libavcodec's "png" encoder, RGB24). The bytes go to a temporary
    /// name beside `path` first and are renamed into place, so `path` never holds half a file.
    public static func writePNG(_ image: RGBImage, to path: String) throws {
        let operation = "write PNG \(path)"
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3 else {
            throw MediaError(operation, message: "the picture is empty or malformed "
                             + "(\(image.width)x\(image.height), \(image.pixels.count) bytes)")
        }
        let bytes: [UInt8]
        do {
            bytes = try encodePNG(image)
        } catch var error as MediaError {
            error.operation = "\(operation): \(error.operation)"
            throw error
        }
        try writeAtomically(bytes, to: path, operation: operation)
    }

    /// The PNG file's bytes for `image`.
    static func encodePNG(_ image: RGBImage) throws -> [UInt8] {
        var settings = VideoEncoderSettings(codecName: "png", width: image.width, height: image.height,
                                            pixelFormat: AV_PIX_FMT_RGB24.rawValue, timeBase: TimeBase(1, 25),
                                            frameRate: AVRational(num: 25, den: 1))
        settings.threads = 1
        let encoder = try Encoder(video: settings)

        let frame = Frame()
        let f = frame.pointer
        f.pointee.width = Int32(image.width)
        f.pointee.height = Int32(image.height)
        f.pointee.format = AV_PIX_FMT_RGB24.rawValue
        try check(av_frame_get_buffer(f, 0), "allocate frame")
        guard let plane = f.pointee.data.0 else { throw MediaError("allocate frame", message: "no picture plane") }
        let linesize = Int(f.pointee.linesize.0)
        let rowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            for row in 0 ..< image.height {
                (plane + row * linesize).update(from: base + row * rowBytes, count: rowBytes)
            }
        }
        f.pointee.pts = 0

        let packet = Packet()
        var picture: [UInt8]? = nil
        let keep: (Packet) -> Void = { p in if picture == nil && p.size > 0 { picture = Array(p.bytes) } }
        try encoder.encode(frame, into: packet, keep)
        try encoder.encode(nil, into: packet, keep)   // drain: the one packet must come out now
        guard let picture else { throw MediaError("encode PNG", message: "the encoder produced no picture") }
        return picture
    }

    /// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it to `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String, operation: String) throws {
        do { try AtomicPublish.write(Data(bytes), to: path) } catch let e as AtomicPublish.Failure {
            throw MediaError(operation, message: e.reason)
        }
    }
}
