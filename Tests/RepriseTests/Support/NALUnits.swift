import Foundation

/// Splits H.264/HEVC access units into NAL units, so packets can be compared across
/// containers that package them differently (4-byte length prefixes in MP4/MKV/FLV,
/// start codes in MPEG-TS).
enum NALUnits {
    enum Codec: Sendable {
        case h264, hevc

        init?(ffprobeName: String?) {
            switch ffprobeName {
            case "h264": self = .h264
            case "hevc": self = .hevc
            default: return nil
            }
        }

        func type(of nal: Data) -> Int {
            guard let first = nal.first else { return -1 }
            switch self {
            case .h264: return Int(first & 0x1F)
            case .hevc: return Int((first >> 1) & 0x3F)
            }
        }

        /// Access unit delimiters: muxers add or drop them freely.
        var delimiter: Int { self == .h264 ? 9 : 35 }
        /// SPS/PPS (H.264), VPS/SPS/PPS (HEVC): muxers and cutters may repeat them in band.
        var parameterSets: Set<Int> { self == .h264 ? [7, 8] : [32, 33, 34] }
    }

    enum Packaging: Sendable {
        case lengthPrefixed, annexB

        /// MPEG-TS carries Annex B; MP4, Matroska and FLV carry 4-byte lengths.
        init(formatName: String?) {
            self = (formatName ?? "").contains("mpegts") ? .annexB : .lengthPrefixed
        }
    }

    static func split(_ data: Data, _ packaging: Packaging) -> [Data] {
        let bytes = [UInt8](data)
        var units: [Data] = []
        switch packaging {
        case .lengthPrefixed:
            var i = 0
            while i + 4 <= bytes.count {
                let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                let end = min(bytes.count, i + 4 + length)
                units.append(Data(bytes[(i + 4)..<end]))
                i = end
            }
        case .annexB:
            var starts: [(code: Int, payload: Int)] = []
            var i = 0
            while i + 3 <= bytes.count {
                if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                    let code = (i > 0 && bytes[i - 1] == 0) ? i - 1 : i
                    starts.append((code, i + 3))
                    i += 3
                } else {
                    i += 1
                }
            }
            for (n, start) in starts.enumerated() {
                var end = n + 1 < starts.count ? starts[n + 1].code : bytes.count
                while end > start.payload, bytes[end - 1] == 0 { end -= 1 }  // trailing zero bytes
                units.append(Data(bytes[start.payload..<end]))
            }
        }
        return units
    }

    /// The NAL units of a packet that carry picture data: access unit delimiters and parameter
    /// sets removed, the rest (slices, SEI) kept in order.
    static func pictureUnits(_ data: Data, _ packaging: Packaging, _ codec: Codec) -> [Data] {
        split(data, packaging).filter {
            let type = codec.type(of: $0)
            return type != codec.delimiter && !codec.parameterSets.contains(type)
        }
    }
}
