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

public enum NALUnits {
    /// The NAL units of a packet or extradata blob, in order.
    public static func split(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming, limit: Int = .max) -> [NALUnitRange] {
        var out: [NALUnitRange] = []
        switch framing {
        case .lengthPrefixed(let size):
            var i = 0
            while i + size <= data.count && out.count < limit {
                var len = 0
                for k in 0..<size { len = (len << 8) | Int(data[i + k]) }
                i += size
                guard len > 0, i + len <= data.count else { break }
                out.append(NALUnitRange(start: i, length: len))
                i += len
            }
        case .annexB:
            var starts: [Int] = []
            var i = 0
            let n = data.count
            while i + 2 < n {
                if data[i + 2] > 1 { i += 3; continue }
                if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                    starts.append(i + 3)
                    if starts.count > limit { break }
                    i += 3
                } else { i += 1 }
            }
            for (k, s) in starts.enumerated() {
                var end = k + 1 < starts.count ? starts[k + 1] - 3 : n
                // Trailing zero bytes belong to the next start code (4-byte form) or are padding.
                while end > s && data[end - 1] == 0 { end -= 1 }
                if end > s && out.count < limit { out.append(NALUnitRange(start: s, length: end - s)) }
            }
        }
        return out
    }

    public static func split(_ data: [UInt8], framing: NALFraming) -> [NALUnitRange] {
        data.withUnsafeBufferPointer { split($0, framing: framing) }
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
