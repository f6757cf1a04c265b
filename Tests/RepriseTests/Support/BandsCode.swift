import Foundation

/// A frame-index code that survives horizontal cropping, letterboxing, pillarboxing and scaling:
/// the `.bands` fixture layout (see `FixtureSpec.Layout`).
///
/// - Top two thirds of the frame: 24 full-width horizontal bands, top to bottom bit 0, its
///   complement, bit 1, its complement, … bit 11 (light 235 = 1, dark 16 = 0). Any vertical strip
///   of the frame carries the whole index, and a reader compares each band with its partner, so it
///   needs no threshold. 12 bits: indices 0…4095.
/// - Bottom third: a flat gray background with a bright square ("the product", a fifth of the
///   frame's height). In the first half of the recording the square glides slowly from the left
///   (8 % of the width) towards the middle (45 %); at the exact middle frame (`cutFrame`) it jumps
///   to the right (82 %, then drifting slowly back to 76 %) and the background changes sharply from
///   gray 90 to gray 40: a scene cut. A centre 9:16 crop of a 16:9 frame never shows the square in
///   the second scene and only late in the first, so a crop window that follows it must move.
/// - Optional `noise`: every frame gets fresh random noise (±40) on the bottom third's background,
///   making the recording expensive to encode (for bitrate-cap tests).
struct BandsCode: Sendable, Equatable {
    static let bits = 12
    static let bandCount = 2 * bits
    static let dark: UInt8 = 16
    static let light: UInt8 = 235
    static let squareGray: UInt8 = 235
    static let sceneOneGray: UInt8 = 90
    static let sceneTwoGray: UInt8 = 40
    /// A band pair whose means differ by less than this (8-bit gray) is unreadable.
    static let minimumContrast = 40.0
    /// Gray level above which a pixel of the bottom third counts as part of the square.
    static let squareThreshold = 170.0

    let width: Int
    let height: Int
    /// Frames in the recording (the square's path and the scene cut depend on it).
    let frameCount: Int

    init(width: Int, height: Int, frameCount: Int) {
        self.width = width
        self.height = height
        self.frameCount = frameCount
    }

    // MARK: geometry, in source pixels

    /// Rows [0, bandArea) hold the bands; [bandArea, height) the square's strip.
    var bandArea: Int { height * 2 / 3 }
    var bandHeight: Int { bandArea / Self.bandCount }
    var bandsTop: Int { (bandArea - Self.bandCount * bandHeight) / 2 }
    var squareSide: Int { (height / 5) & ~1 }
    var squareTop: Int { bandArea + (height - bandArea - squareSide) / 2 }
    /// First frame of the second scene.
    var cutFrame: Int { frameCount / 2 }

    /// Whether frame `index` is in the second scene.
    func isSecondScene(_ index: Int) -> Bool { index >= cutFrame }

    /// The square's horizontal centre in frame `index`, as a fraction of the width.
    func squareCentreFraction(_ index: Int) -> Double {
        if index < cutFrame {
            let t = cutFrame > 1 ? Double(index) / Double(cutFrame - 1) : 0
            return 0.08 + 0.37 * t
        }
        let rest = frameCount - cutFrame
        let t = rest > 1 ? Double(index - cutFrame) / Double(rest - 1) : 0
        return 0.82 - 0.06 * t
    }

    /// Left edge of the square in frame `index`, in source pixels.
    func squareLeft(_ index: Int) -> Int {
        let centre = Int((squareCentreFraction(index) * Double(width)).rounded())
        return min(max(0, centre - squareSide / 2), width - squareSide)
    }

    // MARK: rendering

    /// An 8-bit gray picture (width × height bytes) that shows `index`.
    func render(_ index: Int, noise: Bool = false) -> [UInt8] {
        precondition(index >= 0 && index < 1 << Self.bits, "index \(index) does not fit in \(Self.bits) bits")
        var pixels = [UInt8](repeating: Self.dark, count: width * height)
        pixels.withUnsafeMutableBufferPointer { p in
            for band in 0..<Self.bandCount {
                let bit = (index >> (band / 2)) & 1 == 1
                let on = band % 2 == 0 ? bit : !bit
                let y0 = bandsTop + band * bandHeight
                p[(y0 * width)..<((y0 + bandHeight) * width)].update(repeating: on ? Self.light : Self.dark)
            }
            let background = isSecondScene(index) ? Self.sceneTwoGray : Self.sceneOneGray
            p[(bandArea * width)..<(height * width)].update(repeating: background)
            if noise {
                var state = UInt64(index) &* 2_654_435_761 &+ 0x9E37_79B9_7F4A_7C15
                var k = bandArea * width
                let end = height * width
                while k < end {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    var bits = state
                    for _ in 0..<8 where k < end {
                        let value = Int(background) + Int(bits & 0xFF) * 80 / 255 - 40
                        p[k] = UInt8(min(max(value, 0), 255))
                        bits >>= 8
                        k += 1
                    }
                }
            }
            let left = squareLeft(index)
            for y in squareTop..<(squareTop + squareSide) {
                p[(y * width + left)..<(y * width + left + squareSide)].update(repeating: Self.squareGray)
            }
        }
        return pixels
    }

    // MARK: reading

    /// The index shown in `picture`, whose source frame (all of it) is drawn at `content` in the
    /// picture's pixels. `content` may reach past the picture (a crop): bands are read only where
    /// they are inside it, from the middle of what is visible. nil when any band pair is too close
    /// to call.
    func read(_ picture: GrayPicture, content: ContentRect) -> Int? {
        let scaleY = content.height / Double(height)
        // Columns: the visible part of the content, less 10 % at each side (edges blur, and
        // blur-pad puts a blurred copy right beside the content).
        let visibleLeft = max(0, content.x), visibleRight = min(Double(picture.width), content.x + content.width)
        guard visibleRight - visibleLeft >= 4 else { return nil }
        let margin = (visibleRight - visibleLeft) * 0.1
        let x0 = Int((visibleLeft + margin).rounded(.up)), x1 = Int((visibleRight - margin).rounded(.down))
        guard x1 > x0 else { return nil }
        let step = max(1, (x1 - x0) / 160)

        func bandMean(_ band: Int) -> Double? {
            let top = Double(bandsTop + band * bandHeight), h = Double(bandHeight)
            var y0 = Int((content.y + (top + 0.3 * h) * scaleY).rounded(.up))
            var y1 = Int((content.y + (top + 0.7 * h) * scaleY).rounded(.down))
            if y1 < y0 { y0 = Int((content.y + (top + 0.5 * h) * scaleY).rounded()); y1 = y0 }
            guard y0 >= 0, y1 < picture.height else { return nil }
            var sum = 0, count = 0
            for y in y0...y1 {
                var x = x0
                while x < x1 { sum += Int(picture[x, y]); count += 1; x += step }
            }
            return count > 0 ? Double(sum) / Double(count) : nil
        }

        var index = 0
        for bit in 0..<Self.bits {
            guard let a = bandMean(2 * bit), let b = bandMean(2 * bit + 1) else { return nil }
            let difference = a - b
            if abs(difference) < Self.minimumContrast { return nil }
            if difference > 0 { index |= 1 << bit }
        }
        return index
    }

    /// Where the square shows in `picture`: the widest run of bright columns along the middle
    /// rows of the square's strip, within the content's visible part. `minimumFraction` of the
    /// square's (scaled) side must show for it to count.
    func sightSquare(_ picture: GrayPicture, content: ContentRect, minimumFraction: Double = 0.6) -> SquareSighting? {
        let scaleX = content.width / Double(width), scaleY = content.height / Double(height)
        let side = Double(squareSide)
        let y0 = Int((content.y + (Double(squareTop) + 0.3 * side) * scaleY).rounded(.up))
        let y1 = Int((content.y + (Double(squareTop) + 0.7 * side) * scaleY).rounded(.down))
        guard y0 >= 0, y1 < picture.height, y1 >= y0 else { return nil }
        let rows = Array(stride(from: y0, through: y1, by: max(1, (y1 - y0) / 4)))
        let x0 = max(0, Int(content.x.rounded(.up))), x1 = min(picture.width, Int((content.x + content.width).rounded(.down)))
        var best: (start: Int, length: Int) = (0, 0)
        var runStart = -1
        for x in x0...x1 {
            var bright = false
            if x < x1 {
                var sum = 0
                for y in rows { sum += Int(picture[x, y]) }
                bright = Double(sum) / Double(rows.count) >= Self.squareThreshold
            }
            if bright {
                if runStart < 0 { runStart = x }
            } else if runStart >= 0 {
                if x - runStart > best.length { best = (runStart, x - runStart) }
                runStart = -1
            }
        }
        guard Double(best.length) >= minimumFraction * side * scaleX else { return nil }
        return SquareSighting(left: best.start, right: best.start + best.length,
                              sourceCentre: (Double(best.start) + Double(best.length) / 2 - content.x) / scaleX)
    }
}

/// Where the square was seen: columns [left, right) of the picture, and its centre in the source
/// frame's x coordinates (through the content rectangle given).
struct SquareSighting: Sendable, Equatable {
    var left: Int
    var right: Int
    var sourceCentre: Double
    var width: Int { right - left }
}

/// Where a source frame's picture lies in an output picture, in output pixels: origin, size.
/// For a crop it is larger than the picture (x < 0); for pad/blur-pad it sits inside it.
struct ContentRect: Sendable, Equatable, CustomStringConvertible {
    var x: Double
    var y: Double
    var width: Double
    var height: Double
    var description: String { String(format: "(%.1f, %.1f, %.1f×%.1f)", x, y, width, height) }

    /// The same rectangle after its picture (`pictureHeight` rows) is turned a quarter clockwise
    /// (`GrayPicture.rotated(clockwise: true)`): (x, y) goes to (pictureHeight − 1 − y, x).
    func rotatedClockwise(pictureHeight: Int) -> ContentRect {
        ContentRect(x: Double(pictureHeight) - y - height, y: x, width: height, height: width)
    }

    /// The same rectangle after a quarter turn counterclockwise: (x, y) goes to (y, pictureWidth − 1 − x).
    func rotatedCounterclockwise(pictureWidth: Int) -> ContentRect {
        ContentRect(x: y, y: Double(pictureWidth) - x - width, width: height, height: width)
    }
}

/// One 8-bit gray picture inside a buffer of many (arrays are shared, not copied).
struct GrayPicture: Sendable {
    let width: Int
    let height: Int
    let storage: [UInt8]
    let offset: Int

    init(width: Int, height: Int, storage: [UInt8], offset: Int = 0) {
        precondition(storage.count >= offset + width * height)
        self.width = width
        self.height = height
        self.storage = storage
        self.offset = offset
    }

    subscript(x: Int, y: Int) -> UInt8 { storage[offset + y * width + x] }

    /// Mean gray of the rectangle [x0, x1) × [y0, y1) (clamped to the picture), sampled sparsely.
    func mean(x0: Int, y0: Int, x1: Int, y1: Int) -> Double {
        let xa = max(0, x0), xb = min(width, x1), ya = max(0, y0), yb = min(height, y1)
        guard xb > xa, yb > ya else { return .nan }
        let sx = max(1, (xb - xa) / 64), sy = max(1, (yb - ya) / 64)
        var sum = 0, count = 0
        for y in stride(from: ya, to: yb, by: sy) {
            for x in stride(from: xa, to: xb, by: sx) { sum += Int(self[x, y]); count += 1 }
        }
        return Double(sum) / Double(count)
    }

    /// How sharp the sharpest horizontal edge in the rectangle is: for each sampled column the
    /// largest gray step between vertically adjacent pixels, median over the columns. Band edges
    /// shown sharply step by ~200; a blurred copy of them only by a few levels per pixel.
    func sharpestEdge(x0: Int, y0: Int, x1: Int, y1: Int) -> Double {
        let xa = max(0, x0), xb = min(width, x1), ya = max(0, y0), yb = min(height, y1) - 1
        guard xb > xa, yb > ya else { return .nan }
        var steps: [Int] = []
        for x in stride(from: xa, to: xb, by: max(1, (xb - xa) / 64)) {
            var largest = 0
            for y in ya..<yb { largest = max(largest, abs(Int(self[x, y]) - Int(self[x, y + 1]))) }
            steps.append(largest)
        }
        steps.sort()
        return Double(steps[steps.count / 2])
    }

    /// The picture turned a quarter turn clockwise (`clockwise: true`) or counterclockwise.
    func rotated(clockwise: Bool) -> GrayPicture {
        var out = [UInt8](repeating: 0, count: width * height)
        let w = height   // the new width; the new height is the old width
        out.withUnsafeMutableBufferPointer { o in
            storage.withUnsafeBufferPointer { s in
                for y in 0..<height {
                    for x in 0..<width {
                        // Clockwise: (x, y) → (h_old - 1 - y, x); counterclockwise: (x, y) → (y, w_old - 1 - x).
                        let (nx, ny) = clockwise ? (height - 1 - y, x) : (y, width - 1 - x)
                        o[ny * w + nx] = s[offset + y * width + x]
                    }
                }
            }
        }
        return GrayPicture(width: w, height: width, storage: out)
    }
}

/// Decoded frames of a file's first video stream as 8-bit gray, as stored (no autorotation).
struct GrayFrames: Sendable {
    let width: Int
    let height: Int
    let count: Int
    let storage: [UInt8]

    subscript(n: Int) -> GrayPicture { GrayPicture(width: width, height: height, storage: storage, offset: n * width * height) }

    /// Decodes `url` with ffmpeg (`extra` filters before the gray conversion, e.g. for a witness
    /// that crops or pads the fixture itself). Size is given by the caller or probed.
    static func decode(_ url: URL, filter: String? = nil, size: (Int, Int)? = nil, autorotate: Bool = false) throws -> GrayFrames {
        var (width, height) = size ?? (0, 0)
        if size == nil {
            let probed = try FFprobe.describe(url)
            guard let video = probed.streams?.first(where: { $0.codec_type == "video" }),
                  let w = video.width, let h = video.height else {
                throw SubprocessError(description: "\(url.path): no video stream")
            }
            (width, height) = (w, h)
        }
        var args = ["-hide_banner", "-nostdin", "-v", "error"]
        if !autorotate { args.append("-noautorotate") }
        args += ["-i", url.path, "-map", "0:v:0", "-fps_mode", "passthrough"]
        if let filter { args += ["-vf", filter] }
        args += ["-f", "rawvideo", "-pix_fmt", "gray", "-"]
        let raw = try Subprocess.checked("ffmpeg", args)
        let frameBytes = width * height
        guard frameBytes > 0, raw.count % frameBytes == 0 else {
            throw SubprocessError(description: "\(url.path): \(raw.count) bytes of gray is not whole \(width)x\(height) frames")
        }
        return GrayFrames(width: width, height: height, count: raw.count / frameBytes, storage: [UInt8](raw))
    }
}
