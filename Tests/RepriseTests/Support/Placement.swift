import Foundation

/// What the no-upscale rule promises for an output's size, and where the source picture lies in
/// it — computed from the contract, never read from the product:
///
/// - `pad` / `blur-pad`: the source is fitted inside the target (scale = min of the ratios);
///   `crop` / `follow`: it covers the target (scale = max of the ratios).
/// - Unless the profile says `upscale: true`, that scale is capped at 1 and the output shrinks by
///   the same factor, keeping the target's aspect (then rounded to even, so ±2 px).
/// - The source picture is centred (a crop shows its centre; `follow` moves horizontally).
enum Placement {
    enum Fit: String, Sendable { case crop, pad, blurPad = "blur-pad", follow }

    /// The exact (unrounded) output size.
    static func outputSize(source: (width: Int, height: Int), target: (width: Int, height: Int),
                           fit: Fit, upscale: Bool) -> (width: Double, height: Double) {
        let rx = Double(target.width) / Double(source.width), ry = Double(target.height) / Double(source.height)
        let wanted = fit == .pad || fit == .blurPad ? min(rx, ry) : max(rx, ry)
        let applied = upscale ? wanted : min(wanted, 1)
        let shrink = applied / wanted
        return (Double(target.width) * shrink, Double(target.height) * shrink)
    }

    /// Whether the rule leaves the target size untouched (so the output must be exactly it).
    static func isExact(source: (width: Int, height: Int), target: (width: Int, height: Int), fit: Fit, upscale: Bool) -> Bool {
        let size = outputSize(source: source, target: target, fit: fit, upscale: upscale)
        return size.width == Double(target.width) && size.height == Double(target.height)
    }

    /// Where the whole source picture lies in an output picture of `output` size.
    static func content(source: (width: Int, height: Int), output: (width: Int, height: Int), fit: Fit) -> ContentRect {
        let rx = Double(output.width) / Double(source.width), ry = Double(output.height) / Double(source.height)
        let scale = fit == .pad || fit == .blurPad ? min(rx, ry) : max(rx, ry)
        let w = Double(source.width) * scale, h = Double(source.height) * scale
        return ContentRect(x: (Double(output.width) - w) / 2, y: (Double(output.height) - h) / 2, width: w, height: h)
    }
}
