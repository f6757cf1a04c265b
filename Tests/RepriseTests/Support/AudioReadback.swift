import Foundation

/// A file's first audio stream, decoded by ffmpeg to 48 kHz mono s16 and dated with the
/// per-frame timestamps ffprobe reports: where it starts and ends, and when each beep begins.
struct AudioReadback: Sendable {
    /// Time of the first decoded sample, seconds as stored (not relative to the format start).
    var start: Double
    /// Time just after the last decoded sample.
    var end: Double
    /// Beep onsets, seconds as stored.
    var onsets: [Double]
    var sampleCount: Int
    /// The stream duration the container declares (ffprobe stream duration), if any. For MP4
    /// this is the edit list's, which trims AAC padding that FFmpeg 5.1's decoder still outputs.
    var declaredDuration: Double?

    var duration: Double { end - start }

    /// nil when the file has no audio stream.
    static func read(_ url: URL) throws -> AudioReadback? {
        let description = try FFprobe.describe(url)
        guard let stream = description.streams?.first(where: { $0.codec_type == "audio" }) else { return nil }
        let frames = try FFprobe.frames(url, stream: "a:0")
        let pcm = try Subprocess.checked("ffmpeg", [
            "-hide_banner", "-v", "error", "-i", url.path, "-map", "0:a:0",
            "-ac", "1", "-ar", "\(BeepTrack.sampleRate)", "-f", "s16le", "-"])
        let count = pcm.count / 2
        let rate = Double(BeepTrack.sampleRate)
        guard let first = frames.first?.time else {
            return AudioReadback(start: 0, end: 0, onsets: [], sampleCount: 0, declaredDuration: stream.durationSeconds)
        }

        // Date every sample from the frame it was decoded in, so a gap or overlap between
        // audio frames shows up as such instead of shifting everything after it.
        var frameStarts: [(sample: Int, time: Double)] = []
        var position = 0
        var end = first
        let sameRate = stream.sample_rate.flatMap(Int.init) == BeepTrack.sampleRate
        for frame in frames {
            guard let time = frame.time, let n = frame.nb_samples else { continue }
            frameStarts.append((position, time))
            position += n
            end = time + Double(n) / rate
        }
        if !sameRate || position != count {
            // Resampled (or counts disagree): date linearly from the first frame.
            frameStarts = [(0, first)]
            end = first + Double(count) / rate
        }
        func time(ofSample sample: Int) -> Double {
            var lo = 0, hi = frameStarts.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if frameStarts[mid].sample <= sample { lo = mid } else { hi = mid - 1 }
            }
            return frameStarts[lo].time + Double(sample - frameStarts[lo].sample) / rate
        }
        let onsetSamples: [Int] = pcm.withUnsafeBytes { BeepTrack.onsets(in: $0.bindMemory(to: Int16.self)) }
        return AudioReadback(start: first, end: end, onsets: onsetSamples.map(time(ofSample:)),
                             sampleCount: count, declaredDuration: stream.durationSeconds)
    }
}
