import Foundation
import RepriseHighlights

/// The recording page's signal lanes as SVG, drawn from the review file's series (not a picture):
/// one row a lane, each scaled to its own maximum, at most `columns` points (each the maximum of
/// the seconds it covers, so a one-second burst still shows); products, windows and scene cuts on top.
enum LaneChart {
    static let width = 1000.0, laneHeight = 36.0, gap = 6.0, productRow = 18.0

    static func svg(_ review: ReviewFile, columns: Int = 1000) -> String {
        let duration = max(review.duration, 1)
        let x = { (t: Double) in String(format: "%.1f", min(max(t / duration, 0), 1) * width) }
        let lanesTop = productRow + gap
        let height = lanesTop + Double(review.lanes.count) * (laneHeight + gap)
        var out = #"<svg class="lanes" viewBox="0 0 \#(Int(width)) \#(Int(height))" preserveAspectRatio="none" role="img" aria-label="signal lanes">"#
        // Products.
        for p in review.products {
            out += #"<rect class="product" x="\#(x(p.start))" y="0" width="\#(String(format: "%.1f", max((p.end - p.start) / duration * width, 1)))" height="\#(productRow)"><title>\#(escape(p.title)) \#(clock(p.start))–\#(clock(p.end))</title></rect>"#
        }
        // Lanes.
        for (k, lane) in review.lanes.enumerated() {
            let top = lanesTop + Double(k) * (laneHeight + gap)
            let values = downsample(lane.values, to: columns)
            let peak = max(values.max() ?? 0, 1e-9)
            var points = ""
            for (i, v) in values.enumerated() {
                let px = (Double(i) + 0.5) / Double(max(values.count, 1)) * width
                let py = top + laneHeight - max(v, 0) / peak * laneHeight
                points += String(format: "%.1f,%.1f ", px, py)
            }
            out += #"<g class="lane lane-\#(escape(lane.name.replacingOccurrences(of: "/", with: "-")))"><rect class="lane-bg" x="0" y="\#(top)" width="\#(Int(width))" height="\#(laneHeight)"/>"#
            out += #"<polyline points="\#(points)"/><text x="4" y="\#(top + 12)">\#(escape(lane.name))</text></g>"#
        }
        // Scene cuts, then the windows over everything (the selected one is styled by the page's script).
        for cut in review.sceneCuts.prefix(5000) {
            out += #"<line class="cut" x1="\#(x(cut))" x2="\#(x(cut))" y1="\#(lanesTop)" y2="\#(height)"/>"#
        }
        for (i, w) in review.windows.enumerated() {
            out += #"<rect class="window\#(w.reel == nil ? " out-of-reel" : "")" data-window="\#(i)" x="\#(x(w.start))" y="0" width="\#(String(format: "%.1f", max((w.end - w.start) / duration * width, 2)))" height="\#(Int(height))"><title>#\#(i + 1) \#(clock(w.start))–\#(clock(w.end)) score \#(String(format: "%.2f", w.score))</title></rect>"#
        }
        return out + "</svg>"
    }

    static func downsample(_ values: [Double], to columns: Int) -> [Double] {
        guard values.count > columns, columns > 0 else { return values }
        return (0..<columns).map { c in
            let lo = c * values.count / columns, hi = max(lo + 1, (c + 1) * values.count / columns)
            return values[lo..<min(hi, values.count)].max() ?? 0
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func clock(_ t: Double) -> String {
        let ms = Int((t * 1000).rounded()), s = ms / 1000
        return s >= 3600 ? String(format: "%d:%02d:%02d.%03d", s / 3600, s / 60 % 60, s % 60, ms % 1000)
                         : String(format: "%d:%02d.%03d", s / 60, s % 60, ms % 1000)
    }
}
