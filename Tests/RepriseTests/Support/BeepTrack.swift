import Foundation

/// The fixtures' audio: 48 kHz mono, a 50 ms 1 kHz beep starting exactly at every whole second
/// of the recording, silence between. Onsets found in decoded audio date the audio track
/// against the video's barcode.
enum BeepTrack {
    static let sampleRate = 48_000
    static let beepSeconds = 0.050
    static let frequency = 1_000.0
    static let amplitude = 0.5
    /// A sample at least this loud (|x| of full scale) is "sound". Half the beep's amplitude:
    /// a beep starting at phase 0 first reaches it 4 samples (0.083 ms) after its true start.
    static let threshold = Int32(0.25 * 32767)
    /// Samples of quiet needed before a loud sample counts as an onset (10 ms: longer than any
    /// quiet stretch inside a beep, shorter than the silence between beeps).
    static let quietBeforeOnset = 480

    /// Signed 16-bit little-endian PCM for `seconds` of the track.
    static func pcm(seconds: Double) -> Data {
        let total = Int((seconds * Double(sampleRate)).rounded())
        let beepLength = Int(beepSeconds * Double(sampleRate))
        var samples = [Int16](repeating: 0, count: total)
        var start = 0
        while start < total {
            for k in 0..<min(beepLength, total - start) {
                let value = amplitude * sin(2 * Double.pi * frequency * Double(k) / Double(sampleRate))
                samples[start + k] = Int16((value * 32767).rounded())
            }
            start += sampleRate
        }
        return samples.withUnsafeBufferPointer { Data(buffer: $0) }.littleEndianIfNeeded
    }

    /// Sample positions of beep onsets in mono s16 samples. Detection starts disarmed, so a
    /// track that begins inside (or right at the start of) a beep reports no onset for it.
    static func onsets(in samples: UnsafeBufferPointer<Int16>) -> [Int] {
        var result: [Int] = []
        var quietRun = 0
        for (i, sample) in samples.enumerated() {
            if abs(Int32(sample)) >= threshold {
                if quietRun >= quietBeforeOnset { result.append(i) }
                quietRun = 0
            } else {
                quietRun += 1
            }
        }
        return result
    }
}

private extension Data {
    /// The PCM is built in host order; every platform Swift runs these tests on is little-endian.
    var littleEndianIfNeeded: Data {
        precondition(1.littleEndian == 1, "big-endian host not supported")
        return self
    }
}
