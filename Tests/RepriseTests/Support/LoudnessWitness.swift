import Foundation

/// EBU R128 loudness as the ffmpeg program measures it (`-af ebur128=peak=true`), read from the
/// filter's Summary: integrated loudness "I:" (LUFS) and true peak "Peak:" (dBTP).
struct LoudnessWitness: Sendable, CustomStringConvertible {
    var integrated: Double
    var truePeak: Double
    var description: String { String(format: "I %.2f LUFS, true peak %.2f dBTP", integrated, truePeak) }

    /// Measures `url`'s first audio stream, or only [from, to) seconds of it (sample-exact trim).
    /// `channels` converts the audio to that layout first (e.g. "stereo").
    static func measure(_ url: URL, from: Double? = nil, to: Double? = nil, layout: String? = nil) throws -> LoudnessWitness {
        var filters: [String] = []
        if from != nil || to != nil {
            var trim = "atrim"
            var parts: [String] = []
            if let from { parts.append("start=\(from)") }
            if let to { parts.append("end=\(to)") }
            trim += "=" + parts.joined(separator: ":")
            filters.append(trim)
        }
        if let layout { filters.append("aformat=channel_layouts=\(layout)") }
        filters.append("ebur128=peak=true")
        let result = try Subprocess.run("ffmpeg", ["-hide_banner", "-nostdin", "-nostats", "-i", url.path,
                                                   "-map", "0:a:0", "-af", filters.joined(separator: ","),
                                                   "-f", "null", "-"])
        guard result.status == 0 else {
            throw SubprocessError(description: "ebur128 of \(url.path) failed: \(result.stderrText.suffix(1500))")
        }
        let text = result.stderrText
        guard let summary = text.range(of: "Summary:", options: .backwards) else {
            throw SubprocessError(description: "ebur128 printed no summary for \(url.path): \(text.suffix(1500))")
        }
        func value(after label: String) -> Double? {
            for line in text[summary.upperBound...].split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix(label) else { continue }
                let number = trimmed.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
                    .split(separator: " ").first.map(String.init) ?? ""
                if number == "-inf" { return -.infinity }
                return Double(number)
            }
            return nil
        }
        guard let integrated = value(after: "I:"), let peak = value(after: "Peak:") else {
            throw SubprocessError(description: "ebur128 summary for \(url.path) not understood: \(text[summary.lowerBound...])")
        }
        return LoudnessWitness(integrated: integrated, truePeak: peak)
    }
}
