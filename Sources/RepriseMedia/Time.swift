import CFFmpeg

/// Exact time-base arithmetic. Engine times stay integers in a stream's time base; this is the
/// only place that converts between bases, always through FFmpeg's rounding helpers.
public struct TimeBase: Hashable, Sendable, CustomStringConvertible {
    public var num: Int32
    public var den: Int32
    public init(_ num: Int32, _ den: Int32) { self.num = num; self.den = den }
    public init(_ r: AVRational) { self.num = r.num; self.den = r.den }
    public var rational: AVRational { AVRational(num: num, den: den) }
    public static let microseconds = TimeBase(1, 1_000_000)
    public var description: String { "\(num)/\(den)" }

    /// Converts `value` from this base to `other`, rounding to nearest.
    public func rescale(_ value: Int64, to other: TimeBase) -> Int64 {
        cff_rescale_q_rnd(value, rational, other.rational, cff_rounding_near_inf_passminmax())
    }
    public func rescaleUp(_ value: Int64, to other: TimeBase) -> Int64 {
        cff_rescale_q_rnd(value, rational, other.rational, cff_rounding_up_passminmax())
    }
    /// Seconds, for display and for parsing user input only.
    public func seconds(_ value: Int64) -> Double { Double(value) * Double(num) / Double(den) }
    /// Ticks for a user-given number of seconds, rounded to nearest (input parsing only).
    public func ticks(seconds: Double) -> Int64 {
        let micros = Int64((seconds * 1_000_000).rounded())
        return TimeBase.microseconds.rescale(micros, to: self)
    }
}

extension AVRational {
    public var doubleValue: Double { den == 0 ? 0 : Double(num) / Double(den) }
}
