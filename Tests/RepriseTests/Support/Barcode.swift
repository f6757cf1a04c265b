import Foundation

/// The frame-index barcode: a grid of 8 × 6 big square cells filling most of the frame.
/// Rows 0–2 hold the 24 bits of the frame index (bit b at row b / 8, column b % 8; white = 1),
/// rows 3–5 hold the complement, so a reader compares each cell with its partner and needs
/// no threshold. The margin around the grid carries a moving pattern so the encoder has some
/// real motion to code.
struct Barcode: Sendable, Equatable {
    static let columns = 8
    static let rows = 6
    static let bits = 24
    static let dark: UInt8 = 16
    static let light: UInt8 = 235
    /// A frame whose weakest cell pair differs by less than this (in 8-bit gray) is unreadable.
    static let minimumContrast = 40.0

    let width: Int
    let height: Int
    let cell: Int
    let originX: Int
    let originY: Int

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        cell = min(width / Self.columns, height / Self.rows) * 9 / 10
        originX = (width - cell * Self.columns) / 2
        originY = (height - cell * Self.rows) / 2
    }

    /// An 8-bit gray picture (width × height bytes) that shows `index`.
    func render(_ index: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                pixels[y * width + x] = UInt8(64 + ((x * 2 + y + index * 3) & 127))
            }
        }
        for bit in 0..<Self.bits {
            let on = (index >> bit) & 1 == 1
            let (row, column) = (bit / Self.columns, bit % Self.columns)
            fill(&pixels, row: row, column: column, on ? Self.light : Self.dark)
            fill(&pixels, row: row + 3, column: column, on ? Self.dark : Self.light)
        }
        return pixels
    }

    /// The index shown by an 8-bit gray picture of this size, or nil if any cell pair is too
    /// close to call.
    func read(_ pixels: UnsafeBufferPointer<UInt8>) -> Int? {
        precondition(pixels.count >= width * height)
        var index = 0
        for bit in 0..<Self.bits {
            let (row, column) = (bit / Self.columns, bit % Self.columns)
            let difference = mean(pixels, row: row, column: column) - mean(pixels, row: row + 3, column: column)
            if abs(difference) < Self.minimumContrast { return nil }
            if difference > 0 { index |= 1 << bit }
        }
        return index
    }

    private func fill(_ pixels: inout [UInt8], row: Int, column: Int, _ value: UInt8) {
        let x0 = originX + column * cell, y0 = originY + row * cell
        for y in y0..<(y0 + cell) {
            for x in x0..<(x0 + cell) { pixels[y * width + x] = value }
        }
    }

    /// Mean of the middle 30 % of a cell (away from its edges, where compression smears).
    private func mean(_ pixels: UnsafeBufferPointer<UInt8>, row: Int, column: Int) -> Double {
        let x0 = originX + column * cell, y0 = originY + row * cell
        let a = cell * 35 / 100, b = max(a + 1, cell * 65 / 100)
        var sum = 0, count = 0
        for y in (y0 + a)..<(y0 + b) {
            for x in (x0 + a)..<(x0 + b) { sum += Int(pixels[y * width + x]); count += 1 }
        }
        return Double(sum) / Double(count)
    }
}
