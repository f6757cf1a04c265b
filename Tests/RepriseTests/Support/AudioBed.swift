import Foundation

/// A continuous pink-ish noise bed mixed under the beep track (`FixtureSpec.audioBed`), so a
/// recording's integrated loudness is well defined (not just 50 ms beeps over silence).
///
/// Levels are chosen so loudness normalisation is testable both ways: the mix measures about
/// −18.5 LUFS integrated with a true peak near −6 dBTP (the beeps), so reaching −14 or −16 LUFS
/// takes +2…+5 dB — a no-op misses both targets by more than 1 LU — and a plain linear gain can
/// reach them under a −1 dBTP ceiling. The bed is soft-limited below 0.2 of full scale (under
/// `BeepTrack.threshold`, so beep onsets are still found) and silent from 1 ms before each beep
/// to 1 ms after it (so the beeps' onsets and peaks are the track's own).
/// Deterministic: the same length always gives the same samples.
enum AudioBed {
    /// RMS level of the bed before soft limiting, dBFS.
    static let level = -18.0
    /// The bed never reaches this (fraction of full scale).
    static let ceiling = 0.2

    /// `pcm` (mono s16le, as `BeepTrack.pcm` makes it) with the bed added.
    static func mixed(under pcm: Data) -> Data {
        let count = pcm.count / 2
        let rate = BeepTrack.sampleRate
        var bed = [Double](repeating: 0, count: count)
        // White noise from xorshift, coloured with Paul Kellet's economy pink filter.
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var (b0, b1, b2) = (0.0, 0.0, 0.0)
        var energy = 0.0
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let white = Double(state >> 11) / Double(1 << 53) * 2 - 1
            b0 = 0.99765 * b0 + white * 0.0990460
            b1 = 0.96300 * b1 + white * 0.2965164
            b2 = 0.57000 * b2 + white * 1.0526913
            let pink = b0 + b1 + b2 + white * 0.1848
            bed[i] = pink
            energy += pink * pink
        }
        let rms = count > 0 ? (energy / Double(count)).squareRoot() : 1
        let gain = pow(10, level / 20) / max(rms, 1e-9)
        let margin = rate / 1000
        let beepLength = Int(BeepTrack.beepSeconds * Double(rate))
        var samples = [Int16](repeating: 0, count: count)
        pcm.withUnsafeBytes { raw in
            let source = raw.bindMemory(to: Int16.self)
            for i in 0..<count {
                let inSecond = i % rate
                let underBeep = inSecond < beepLength + margin || inSecond >= rate - margin
                let noise = underBeep ? 0 : ceiling * tanh(bed[i] * gain / ceiling)
                let value = Double(Int16(littleEndian: source[i])) + noise * 32767
                samples[i] = Int16(min(max(value.rounded(), -32768), 32767))
            }
        }
        return samples.withUnsafeBufferPointer { Data(buffer: $0) }
    }
}
