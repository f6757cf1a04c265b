import CFFmpeg
import RepriseMedia

/// Keeps decoded audio continuous on the closed-up timeline before it reaches the outputs'
/// graphs: where a later run's audio starts before the earlier run's has ended (a reset), the
/// earlier run's tail is cut at that point; where audio is missing (a muted mic, a stalled
/// encoder), silence fills the hole, so sync after it is what it was before it. Holds back a
/// quarter second of audio to be able to cut it.
final class AudioSplicer {
    private let timeBase: TimeBase
    private var held: [Frame] = []
    private var heldTicks: Int64 = 0
    private var end: Int64? = nil
    private let holdTicks: Int64
    /// Steps smaller than this are timestamp rounding (FLV's milliseconds), not holes or overlaps.
    private let tolerance: Int64
    private(set) var filledSeconds = 0.0
    private(set) var cutSeconds = 0.0

    init(timeBase: TimeBase) {
        self.timeBase = timeBase
        holdTicks = timeBase.ticks(seconds: 0.25)
        tolerance = max(timeBase.ticks(seconds: 0.003), 1)
    }

    private func ticks(samples: Int, rate: Int32) -> Int64 {
        TimeBase(1, max(rate, 1)).rescale(Int64(samples), to: timeBase)
    }

    /// Takes a frame (timed in `timeBase`); hands on frames that are final.
    func add(_ frame: Frame, emit: (Frame) throws -> Void) throws {
        let f = Frame()
        try f.reference(frame)
        let rate = f.pointer.pointee.sample_rate
        if let e = end {
            if f.pts < e - tolerance {
                cutTail(at: f.pts)
            } else if f.pts > e + tolerance {
                let silence = try AudioSplicer.silence(like: held.last ?? f, samples: Int(timeBase.rescale(f.pts - e, to: TimeBase(1, max(rate, 1)))))
                silence.pts = e
                filledSeconds += timeBase.seconds(f.pts - e)
                append(silence)
            }
        }
        append(f)
        while heldTicks > holdTicks, held.count > 1 {
            let out = held.removeFirst()
            heldTicks -= ticks(samples: out.sampleCount, rate: out.pointer.pointee.sample_rate)
            try emit(out)
        }
    }

    func finish(emit: (Frame) throws -> Void) throws {
        for f in held { try emit(f) }
        held.removeAll()
        heldTicks = 0
    }

    private func append(_ f: Frame) {
        let d = ticks(samples: f.sampleCount, rate: f.pointer.pointee.sample_rate)
        held.append(f)
        heldTicks += d
        end = f.pts + d
    }

    /// Cuts held audio at `t`: whole frames that start there or later go, the one across it is shortened.
    private func cutTail(at t: Int64) {
        while let last = held.last {
            let rate = last.pointer.pointee.sample_rate
            let d = ticks(samples: last.sampleCount, rate: rate)
            if last.pts >= t {
                held.removeLast(); heldTicks -= d; cutSeconds += timeBase.seconds(d)
                continue
            }
            if last.pts + d > t {
                let keep = Int(timeBase.rescale(t - last.pts, to: TimeBase(1, max(rate, 1))))
                let shortened = ticks(samples: keep, rate: rate)
                cutSeconds += timeBase.seconds(d - shortened)
                heldTicks -= d - shortened
                last.pointer.pointee.nb_samples = Int32(max(keep, 0))
            }
            break
        }
        end = t
    }

    static func silence(like model: Frame, samples: Int) throws -> Frame {
        let s = Frame()
        let m = model.pointer.pointee
        s.pointer.pointee.format = m.format
        s.pointer.pointee.sample_rate = m.sample_rate
        s.pointer.pointee.nb_samples = Int32(max(samples, 1))
        try check(av_channel_layout_copy(&s.pointer.pointee.ch_layout, &model.pointer.pointee.ch_layout), "silence layout")
        try check(av_frame_get_buffer(s.pointer, 0), "silence buffer")
        av_samples_set_silence(s.pointer.pointee.extended_data, 0, Int32(max(samples, 1)), m.ch_layout.nb_channels,
                               AVSampleFormat(rawValue: m.format))
        return s
    }
}
