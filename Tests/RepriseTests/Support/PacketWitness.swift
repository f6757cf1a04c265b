import Foundation

/// Packet-level facts about an output: DTS order, and which source packets it carries unchanged.
struct PacketWitness: Sendable {
    let url: URL
    let formatName: String?
    let codec: NALUnits.Codec?
    /// Video packets in file order, with payload bytes.
    let packets: [FFprobe.Packet]

    static func read(_ url: URL) throws -> PacketWitness {
        let description = try FFprobe.describe(url)
        let video = description.streams?.first { $0.codec_type == "video" }
        return PacketWitness(url: url, formatName: description.format?.format_name,
                             codec: NALUnits.Codec(ffprobeName: video?.codec_name),
                             packets: try FFprobe.packets(url, data: true))
    }

    var packaging: NALUnits.Packaging { NALUnits.Packaging(formatName: formatName) }

    /// Positions (in file order) of packets with no DTS, or a DTS not above the previous one.
    func dtsViolations() -> [Int] {
        let dts = packets.map(\.dts)
        var bad: [Int] = []
        for i in dts.indices {
            guard let d = dts[i] else { bad.append(i); continue }
            if i > 0, let previous = dts[i - 1], d <= previous { bad.append(i) }
        }
        return bad
    }

    /// How a source packet and an output packet are compared.
    /// H.264 between length-prefixed containers: the payload bytes must be identical.
    /// Otherwise (HEVC, whose first copied packet may carry prepended VPS/SPS/PPS, and whose
    /// copied CRA may be relabelled BLA; or an MPEG-TS side, where start codes, delimiters and
    /// in-band SPS/PPS differ by packaging): the picture NAL units (slices, SEI) must be
    /// identical, byte for byte, in order, except for the CRA/BLA NAL type.
    static func key(_ packet: FFprobe.Packet, packaging: NALUnits.Packaging, codec: NALUnits.Codec,
                    strict: Bool) -> Data {
        let data = FFprobe.bytes(fromHexDump: packet.data ?? "")
        if strict { return data }
        var key = Data()
        for var unit in NALUnits.pictureUnits(data, packaging, codec) {
            if codec == .hevc, [16, 17, 18, 21].contains(codec.type(of: unit)) {
                // A copied CRA may be relabelled BLA (types 16–18) so decoders drop its leading
                // pictures; the slice data is unchanged. Compare CRA and BLA as one type.
                unit[unit.startIndex] = (unit[unit.startIndex] & 0x81) | (21 << 1)
            }
            var length = UInt32(unit.count).bigEndian
            key.append(Data(bytes: &length, count: 4))
            key.append(unit)
        }
        return key
    }

    struct CopyReport: Sendable {
        /// Runs (source packet positions) found intact in the output.
        var found: [[Int]]
        /// Human-readable descriptions of runs that were not.
        var missing: [String]
    }

    /// Checks that each run of source packets appears, unchanged and contiguous, in the output,
    /// runs in order.
    func findCopies(of runs: [[Int]], from source: SourceWitness) -> CopyReport {
        guard let codec else { return CopyReport(found: [], missing: ["output video codec is not H.264/HEVC"]) }
        let sourcePackaging = NALUnits.Packaging(formatName: source.video.format.format_name)
        let strict = codec == .h264 && sourcePackaging == .lengthPrefixed && packaging == .lengthPrefixed
        let outputKeys = packets.map { Self.key($0, packaging: packaging, codec: codec, strict: strict) }
        var positions: [Data: [Int]] = [:]
        for (i, key) in outputKeys.enumerated() { positions[key, default: []].append(i) }

        var report = CopyReport(found: [], missing: [])
        var searchFrom = 0
        for run in runs {
            let keys = run.map { Self.key(source.packets[$0], packaging: sourcePackaging, codec: codec, strict: strict) }
            let firstFrame = source.packetFrame[run[0]]
            let label = "GOP from source frame \(firstFrame) (\(run.count) packets, "
                + "frames \(run.map { source.packetFrame[$0] }.min()!)…\(run.map { source.packetFrame[$0] }.max()!))"
            guard let candidates = positions[keys[0]], !candidates.isEmpty else {
                report.missing.append("\(label): first packet not found in the output")
                continue
            }
            let start = candidates.first { $0 >= searchFrom } ?? candidates[0]
            var matched = 0
            while matched < keys.count, start + matched < outputKeys.count, outputKeys[start + matched] == keys[matched] {
                matched += 1
            }
            if matched == keys.count {
                report.found.append(run)
                searchFrom = start + matched
            } else {
                report.missing.append("\(label): only the first \(matched) packets are identical, "
                    + "from output packet \(start)")
            }
        }
        return report
    }
}
