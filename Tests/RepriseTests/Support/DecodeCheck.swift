import Foundation

/// `ffmpeg -v error -i FILE -f null -`: a clean file decodes with nothing printed.
enum DecodeCheck {
    /// The decoder's complaints (empty when the file decodes cleanly).
    static func errors(_ url: URL) throws -> String {
        let result = try Subprocess.run("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-i", url.path,
                                                   "-map", "0", "-f", "null", "-"])
        var text = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        if result.status != 0 { text += "\n(ffmpeg exited \(result.status))" }
        return text
    }
}
