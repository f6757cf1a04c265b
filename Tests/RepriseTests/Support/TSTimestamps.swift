import Foundation

/// Reads raw 33-bit PTS values straight from an MPEG-TS file's PES headers (no FFmpeg wrap
/// correction), to prove a fixture's timestamps really wrap.
enum TSTimestamps {
    /// Raw PTS of every PES packet start, in file order, for all PIDs carrying PES with a PTS.
    static func rawPTS(_ url: URL) throws -> [Int64] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var result: [Int64] = []
        var offset = 0
        while offset + 188 <= bytes.count {
            defer { offset += 188 }
            guard bytes[offset] == 0x47 else { continue }
            let payloadStart = bytes[offset + 1] & 0x40 != 0
            let adaptation = (bytes[offset + 3] >> 4) & 0x3
            guard payloadStart, adaptation & 0x1 != 0 else { continue }
            var p = offset + 4
            if adaptation & 0x2 != 0 { p += 1 + Int(bytes[p]) }
            // PES start code 00 00 01, stream id, length(2), flags(2), header length(1), PTS(5)
            guard p + 14 <= offset + 188, bytes[p] == 0, bytes[p + 1] == 0, bytes[p + 2] == 1 else { continue }
            let streamID = bytes[p + 3]
            guard (0xC0...0xEF).contains(streamID), bytes[p + 7] & 0x80 != 0 else { continue }
            let b = bytes[(p + 9)..<(p + 14)].map(Int64.init)
            let pts = ((b[0] >> 1) & 0x7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1
            result.append(pts)
        }
        return result
    }
}
