/// How a stream frames its H.264/HEVC NAL units: Annex B start codes (MPEG-TS, raw) or
/// big-endian length prefixes (MP4, MKV, FLV), as the codec's extradata tells.
public enum NALFraming: Equatable, Sendable {
    case annexB
    case lengthPrefixed(Int)

    /// avcC/hvcC extradata starts with version 1; anything else is Annex B (or absent).
    public static func detect(extradata: [UInt8], isHEVC: Bool) -> NALFraming {
        guard extradata.count > 4, extradata[0] == 1 else { return .annexB }
        if isHEVC {
            guard extradata.count > 22 else { return .annexB }
            return .lengthPrefixed(Int(extradata[21] & 3) + 1)
        }
        return .lengthPrefixed(Int(extradata[4] & 3) + 1)
    }
}

/// A NAL unit inside a buffer: where its header starts and how long it is.
public struct NALUnitRange: Equatable, Sendable {
    public var start: Int
    public var length: Int
}

/// Walks the NAL units of a buffer in order without allocating: the hot path of the index scan
/// classifies every packet of a recording with it.
/// - Length-prefixed: a zero length is skipped; a length running past the buffer ends the walk.
/// - Annex B: bytes before the first start code are ignored; a unit ends at the next 3-byte start
///   code, less its trailing zero bytes (the fourth byte of a 4-byte start code, or padding);
///   empty units are skipped.
public struct NALUnitIterator: IteratorProtocol, Sequence {
    public let data: UnsafeBufferPointer<UInt8>
    public let framing: NALFraming
    /// Length-prefixed: offset of the next length field. Annex B: offset of the next unit's
    /// first byte (just after its start code), or `data.count` when there is none.
    private var cursor: Int

    public init(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming) {
        self.data = data
        self.framing = framing
        if case .annexB = framing {
            cursor = NALUnitIterator.startCode(in: data, from: 0).map { $0 + 3 } ?? data.count
        } else {
            cursor = 0
        }
    }

    /// The next unit with its exact length.
    public mutating func next() -> NALUnitRange? { next(measuring: { _ in true }) }

    /// The next unit; for an Annex B unit whose header byte `measuring` rejects, the end is not
    /// searched for: the range runs to the buffer's end (an upper bound, enough to read a slice
    /// header) and the walk stops after it. Length-prefixed units are always exact.
    public mutating func next(measuring: (UInt8) -> Bool) -> NALUnitRange? {
        let n = data.count
        switch framing {
        case .lengthPrefixed(let size):
            while cursor + size <= n {
                var len = 0
                for k in 0..<size { len = (len << 8) | Int(data[cursor + k]) }
                let s = cursor + size
                guard s + len <= n else { cursor = n; return nil }
                cursor = s + len
                if len > 0 { return NALUnitRange(start: s, length: len) }
            }
            cursor = n
            return nil
        case .annexB:
            while cursor < n {
                let s = cursor
                if !measuring(data[s]) {
                    cursor = n
                    return NALUnitRange(start: s, length: n - s)
                }
                let code = NALUnitIterator.startCode(in: data, from: s)
                var end = code ?? n
                cursor = code.map { $0 + 3 } ?? n
                while end > s && data[end - 1] == 0 { end -= 1 }
                if end > s { return NALUnitRange(start: s, length: end - s) }
            }
            return nil
        }
    }

    /// Offset of the first `00 00 01` at or after `from`.
    @inline(__always)
    static func startCode(in data: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        let n = data.count
        while i + 2 < n {
            let c = data[i + 2]
            if c > 1 { i += 3; continue }
            if c == 1 && data[i + 1] == 0 && data[i] == 0 { return i }
            i += 1
        }
        return nil
    }

    public func makeIterator() -> NALUnitIterator { self }
}

public enum NALUnits {
    /// The NAL units of a packet or extradata blob, in order.
    public static func split(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming, limit: Int = .max) -> [NALUnitRange] {
        var out: [NALUnitRange] = []
        var it = NALUnitIterator(data, framing: framing)
        while out.count < limit, let r = it.next() { out.append(r) }
        return out
    }

    public static func split(_ data: [UInt8], framing: NALFraming) -> [NALUnitRange] {
        data.withUnsafeBufferPointer { split($0, framing: framing) }
    }

    /// NAL unit payload → RBSP: emulation-prevention bytes (the 03 of `00 00 03`) removed.
    public static func unescape(_ nal: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(nal.count)
        var zeros = 0
        for b in nal {
            if zeros >= 2 && b == 3 { zeros = 0; continue }
            zeros = b == 0 ? zeros + 1 : 0
            out.append(b)
        }
        return out
    }

    /// RBSP → NAL unit payload: an emulation-prevention byte wherever two zeros precede a byte ≤ 3.
    public static func escape(_ rbsp: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rbsp.count + rbsp.count / 64 + 1)
        var zeros = 0
        for b in rbsp {
            if zeros >= 2 && b <= 3 { out.append(3); zeros = 0 }
            out.append(b)
            zeros = b == 0 ? zeros + 1 : 0
        }
        // An RBSP ending in a zero byte (cabac_zero_word) gets a final 03.
        if out.last == 0 { out.append(3) }
        return out
    }

    /// Rewrites NAL units in the given framing (4-byte lengths, or 4-byte start codes).
    public static func join(_ units: [ArraySlice<UInt8>], framing: NALFraming) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(units.reduce(0) { $0 + $1.count + 4 })
        for u in units {
            switch framing {
            case .annexB: out += [0, 0, 0, 1]
            case .lengthPrefixed(let size):
                for k in stride(from: size - 1, through: 0, by: -1) { out.append(UInt8((u.count >> (8 * k)) & 0xFF)) }
            }
            out += u
        }
        return out
    }
}

/// NAL unit types that matter for cutting.
public enum H264NAL {
    public static func type(_ header: UInt8) -> Int { Int(header & 0x1F) }
    public static let slice = 1, idr = 5, sei = 6, sps = 7, pps = 8, aud = 9
    public static func isVCL(_ t: Int) -> Bool { t >= 1 && t <= 5 }
}

public enum HEVCNAL {
    public static func type(_ header: UInt8) -> Int { Int((header >> 1) & 0x3F) }
    public static let raslN = 8, raslR = 9, blaWLP = 16, blaWRADL = 17, blaNLP = 18
    public static let idrWRADL = 19, idrNLP = 20, cra = 21
    public static let vps = 32, sps = 33, pps = 34, aud = 35, prefixSEI = 39
    public static func isVCL(_ t: Int) -> Bool { t < 32 }
    public static func isIRAP(_ t: Int) -> Bool { t >= 16 && t <= 23 }
    public static func isRASL(_ t: Int) -> Bool { t == raslN || t == raslR }
    public static func isIDR(_ t: Int) -> Bool { t == idrWRADL || t == idrNLP }
}
