/// Reads bits and Exp-Golomb codes straight from a NAL unit's bytes, dropping emulation-prevention
/// bytes (`00 00 03`) on the fly: no copy, no allocation. For the few fields read on hot paths
/// (slice types, SEI payloads, parameter-set ids, profile_tier_level).
public struct RBSPReader {
    private let data: UnsafeBufferPointer<UInt8>
    private var index: Int          // next byte to load
    private let end: Int
    private var zeros = 0           // zero bytes just loaded (for emulation prevention)
    private var current: UInt8 = 0
    private var bitsLeft = 0        // unread bits of `current`

    /// Reads `data[start..<end]` (`start` is typically just past the NAL header).
    public init(_ data: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        self.data = data
        self.index = max(0, start)
        self.end = min(end, data.count)
    }

    /// Whether more payload bits may follow (true while bytes remain).
    public var hasMoreData: Bool { bitsLeft > 0 || index < end }

    @inline(__always)
    private mutating func load() -> Bool {
        while index < end {
            let b = data[index]
            index += 1
            if zeros >= 2 && b == 3 { zeros = 0; continue }
            zeros = b == 0 ? zeros + 1 : 0
            current = b
            bitsLeft = 8
            return true
        }
        return false
    }

    public mutating func readBit() -> Int? {
        if bitsLeft == 0 && !load() { return nil }
        bitsLeft -= 1
        return Int((current >> UInt8(bitsLeft)) & 1)
    }

    public mutating func readBits(_ n: Int) -> Int? {
        var v = 0
        for _ in 0..<n { guard let b = readBit() else { return nil }; v = (v << 1) | b }
        return v
    }

    /// A whole byte (for SEI payload type and size, which are byte-aligned).
    public mutating func readByte() -> Int? { readBits(8) }

    public mutating func skip(_ n: Int) -> Bool {
        for _ in 0..<n { guard readBit() != nil else { return false } }
        return true
    }

    /// Skips to the next byte boundary.
    public mutating func alignToByte() { bitsLeft = 0 }

    public mutating func readUE() -> Int? {
        var zeros = 0
        while true {
            guard let b = readBit() else { return nil }
            if b == 1 { break }
            zeros += 1
            if zeros > 31 { return nil }
        }
        guard let rest = readBits(zeros) else { return nil }
        return (1 << zeros) - 1 + rest
    }
}

extension RBSPReader {
    /// Signed Exp-Golomb se(v).
    public mutating func readSE() -> Int? {
        guard let k = readUE() else { return nil }
        return k % 2 == 1 ? (k + 1) / 2 : -(k / 2)
    }
}

/// Writes bits MSB first, with Exp-Golomb codes, into an RBSP (escape it with `NALUnits.escape`).
public struct RBSPWriter {
    public private(set) var bytes: [UInt8] = []
    public private(set) var bitCount = 0
    public init() {}

    public var isByteAligned: Bool { bitCount % 8 == 0 }

    public mutating func writeBit(_ b: Int) {
        if bitCount % 8 == 0 { bytes.append(0) }
        if b != 0 { bytes[bytes.count - 1] |= UInt8(0x80 >> (bitCount % 8)) }
        bitCount += 1
    }
    public mutating func writeBits(_ n: Int, _ v: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) { writeBit((v >> i) & 1) }
    }
    public mutating func writeUE(_ v: Int) {
        let x = v + 1
        let len = Int.bitWidth - x.leadingZeroBitCount
        writeBits(len - 1, 0)
        writeBits(len, x)
    }
    public mutating func writeSE(_ v: Int) { writeUE(v > 0 ? 2 * v - 1 : -2 * v) }
    /// Appends whole bytes (the writer must be byte-aligned).
    public mutating func append(bytes more: ArraySlice<UInt8>) {
        precondition(isByteAligned)
        bytes += more
        bitCount += 8 * more.count
    }
}
