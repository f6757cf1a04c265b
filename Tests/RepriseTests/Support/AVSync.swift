import Foundation

/// A/V offset of an output, beep by beep, measured the same way as on its source: the time of a
/// beep's onset minus the time the output shows the source frame that opens that second
/// (the first source frame at or after the whole second). Works for reels: an onset is
/// attributed to a source second through the frame on screen when it sounds.
struct AVSync: Sendable {
    /// Offset in seconds, by source second.
    var offsets: [Int: Double]
    /// Seconds whose beep should be measurable in the output but was not found.
    var missing: [Int]
    /// Onsets (output seconds) that match no beep of the source.
    var stray: [Double]

    /// Onsets closer than this to the start of the output's audio are not expected to be
    /// detected (the detector needs 10 ms of quiet first).
    static let guardAtStart = 0.015

    static func measure(video: VideoReadback, audio: AudioReadback, source: SourceWitness) -> AVSync {
        let frames = video.frames.compactMap { f in f.index.map { (index: $0, time: f.time) } }
        var position: [Int: Int] = [:]
        for (i, f) in frames.enumerated() where position[f.index] == nil { position[f.index] = i }
        var result = AVSync(offsets: [:], missing: [], stray: [])
        guard !frames.isEmpty else { return result }

        for onset in audio.onsets {
            // The frame on screen when the onset sounds, and so the source time it plays.
            let shown = frames.lastIndex { $0.time <= onset + 0.0005 } ?? 0
            let sourceTime = source.times[frames[shown].index] + (onset - frames[shown].time)
            let second = Int(sourceTime.rounded())
            guard abs(sourceTime - Double(second)) < 0.1 else { result.stray.append(onset); continue }
            guard let opening = source.firstIndex(atOrAfter: Double(second)), let p = position[opening] else {
                continue
            }
            result.offsets[second] = onset - frames[p].time
        }

        // Which seconds must have been measured: their opening frame is in the output, their beep
        // lies inside the output's audio, and the output had quiet just before it.
        for (second, sourceOffset) in source.avOffsets.sorted(by: { $0.key < $1.key }) {
            guard let opening = source.firstIndex(atOrAfter: Double(second)), let p = position[opening] else { continue }
            let expected = frames[p].time + sourceOffset
            guard expected - audio.start >= guardAtStart, expected <= audio.end - 0.002 else { continue }
            if p > 0, frames[p - 1].index != opening - 1 {
                // A join: the previous range must end in the quiet part of a second.
                let previous = frames[p - 1].index
                let end = source.times[previous] + source.durations[previous]
                let fraction = end - end.rounded(.down)
                guard fraction < 1e-6 || fraction > 1 - 1e-6 || fraction >= BeepTrack.beepSeconds + 0.011 else { continue }
            }
            if result.offsets[second] == nil { result.missing.append(second) }
        }
        return result
    }
}
