/// Reads bits and Exp-Golomb codes from an RBSP (emulation-prevention bytes removed first).
public struct BitReader {
    private let bytes: [UInt8]
    private var bit = 0
    public init(rbspOf nal: ArraySlice<UInt8>) {
        var out: [UInt8] = []
        out.reserveCapacity(nal.count)
        var zeros = 0
        for b in nal {
            if zeros >= 2 && b == 3 { zeros = 0; continue }
            zeros = b == 0 ? zeros + 1 : 0
            out.append(b)
        }
        bytes = out
    }
    public mutating func skip(_ n: Int) { bit += n }
    public mutating func readBit() -> Int? {
        guard bit / 8 < bytes.count else { return nil }
        let v = (bytes[bit / 8] >> (7 - UInt8(bit % 8))) & 1
        bit += 1
        return Int(v)
    }
    public mutating func readBits(_ n: Int) -> Int? {
        var v = 0
        for _ in 0..<n { guard let b = readBit() else { return nil }; v = (v << 1) | b }
        return v
    }
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
