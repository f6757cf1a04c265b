/// A plain RGB24 picture in memory: `width × height` pixels, three bytes each, row by row,
/// no padding between rows.
public struct RGBImage: Sendable {
    public let width: Int
    public let height: Int
    /// RGB24, row-major, `width * height * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = max(0, width)
        self.height = max(0, height)
        let count = self.width * self.height
        var p = [UInt8](repeating: 0, count: count * 3)
        if background != (0, 0, 0) {
            p.withUnsafeMutableBufferPointer { b in
                var i = 0
                while i < b.count {
                    b[i] = background.0; b[i + 1] = background.1; b[i + 2] = background.2
                    i += 3
                }
            }
        }
        pixels = p
    }

    /// One pixel. Reading outside the picture is a programming error; writing outside it is
    /// ignored (drawing clips at the edges).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height,
                         "pixel (\(x), \(y)) is outside the \(width)x\(height) picture")
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            guard x >= 0 && x < width && y >= 0 && y < height else { return }
            let i = (y * width + x) * 3
            pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2
        }
    }
}

typealias TimelineRGB = (UInt8, UInt8, UInt8)

/// Clipped drawing primitives used by the timeline picture.
extension RGBImage {
    /// `src` over `dst` with `alpha` in 0...256 (256 is opaque); integer, so results are exact.
    static func blend(_ dst: TimelineRGB, _ src: TimelineRGB, alpha: Int) -> TimelineRGB {
        let a = max(0, min(256, alpha)), b = 256 - a
        @inline(__always) func mix(_ d: UInt8, _ s: UInt8) -> UInt8 {
            UInt8((Int(s) * a + Int(d) * b + 128) >> 8)
        }
        return (mix(dst.0, src.0), mix(dst.1, src.1), mix(dst.2, src.2))
    }

    /// Clips a rectangle to the picture; nil when nothing of it is inside.
    private func clip(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + max(0, w)), y1 = min(height, y + max(0, h))
        return x0 < x1 && y0 < y1 ? (x0, y0, x1, y1) : nil
    }

    mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: TimelineRGB) {
        guard let r = clip(x, y, w, h) else { return }
        let stride = width
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in r.y0 ..< r.y1 {
                var i = (yy * stride + r.x0) * 3
                for _ in r.x0 ..< r.x1 {
                    p[i] = color.0; p[i + 1] = color.1; p[i + 2] = color.2
                    i += 3
                }
            }
        }
    }

    /// Lays `color` over the rectangle with `alpha` in 0...256.
    mutating func blendRect(x: Int, y: Int, width w: Int, height h: Int, color: TimelineRGB, alpha: Int) {
        guard let r = clip(x, y, w, h) else { return }
        let a = max(0, min(256, alpha)), b = 256 - a
        let s0 = Int(color.0) * a + 128, s1 = Int(color.1) * a + 128, s2 = Int(color.2) * a + 128
        let stride = width
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in r.y0 ..< r.y1 {
                var i = (yy * stride + r.x0) * 3
                for _ in r.x0 ..< r.x1 {
                    p[i] = UInt8((s0 + Int(p[i]) * b) >> 8)
                    p[i + 1] = UInt8((s1 + Int(p[i + 1]) * b) >> 8)
                    p[i + 2] = UInt8((s2 + Int(p[i + 2]) * b) >> 8)
                    i += 3
                }
            }
        }
    }

    mutating func horizontalLine(x0: Int, x1: Int, y: Int, color: TimelineRGB) {
        fillRect(x: min(x0, x1), y: y, width: abs(x1 - x0) + 1, height: 1, color: color)
    }

    mutating func verticalLine(x: Int, y0: Int, y1: Int, color: TimelineRGB) {
        fillRect(x: x, y: min(y0, y1), width: 1, height: abs(y1 - y0) + 1, color: color)
    }

    /// Draws `text` with the built-in bitmap font, top-left at (x, y), each font pixel a
    /// `scale × scale` square. Characters outside printable ASCII come out as small boxes.
    mutating func drawText(_ text: String, x: Int, y: Int, scale: Int, color: TimelineRGB) {
        let s = max(1, scale)
        var cx = x
        for ch in text {
            if cx >= width { break }
            if cx + BitmapFont.advance * s > 0 {
                for (i, column) in BitmapFont.glyph(ch).enumerated() where column != 0 {
                    for row in 0 ..< BitmapFont.glyphHeight where column & (1 << row) != 0 {
                        fillRect(x: cx + i * s, y: y + row * s, width: s, height: s, color: color)
                    }
                }
            }
            cx += BitmapFont.advance * s
        }
    }
}
