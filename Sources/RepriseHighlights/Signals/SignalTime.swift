import Foundation

/// Why one entry of a file could not be read; becomes a `BadLine`.
struct LineProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A field's value before interpretation, the same for JSON and CSV so that both formats share
/// one set of rules.
enum FieldValue {
    case number(Double)
    case string(String)
    /// A JSON value of another type (true, an array…), described for messages.
    case other(String)
}

/// How a time was written, which decides what it means.
public enum TimeReading: String, Sendable, CaseIterable {
    /// A number of seconds from the recording's start (754.2).
    case seconds
    /// `HH:MM:SS(.mmm)` from the recording's start.
    case clock
    /// ISO 8601 with a zone ("Z" or an offset): a moment.
    case iso8601
    /// `YYYY-MM-DD HH:MM:SS(.mmm)` without a zone: a wall-clock reading, a moment once a zone is given.
    case local
    /// Seconds since 1970-01-01 UTC (danmaku XML, most order systems).
    case epochSeconds
    /// Milliseconds since 1970-01-01 UTC (live-comment APIs).
    case epochMilliseconds

    /// Whether the time names a moment (so the recording's start must be known), not an offset.
    public var isMoment: Bool { self != .seconds && self != .clock }
}

/// A time as written in a signal file or on the command line, before the recording's start and
/// zone are applied: `value` is seconds from the recording's start (`.seconds`, `.clock`), seconds
/// since 1970 UTC (`.iso8601`, `.epochSeconds`, `.epochMilliseconds`), or the wall-clock reading
/// counted as if it were UTC (`.local`: the zone is applied later, by `SignalTimeZone.moment`).
public struct WrittenTime: Equatable, Sendable {
    public var reading: TimeReading
    public var value: Double

    public init(_ reading: TimeReading, _ value: Double) {
        self.reading = reading
        self.value = value
    }

    /// Numbers up to this are seconds from the start (over three years: longer than any recording);
    /// from here on Unix epoch seconds (1973 on)…
    static let epochSecondsFrom = 1e8
    /// …and from here on Unix epoch milliseconds (1973 on; epoch seconds that large are past year 5000).
    static let epochMillisecondsFrom = 1e11
    /// Epoch milliseconds past this (year 5138) are not a time any platform writes.
    static let epochMillisecondsTo = 1e14

    /// A number in a file: seconds from the start, or Unix epoch seconds or milliseconds, told apart
    /// by magnitude. Nil for a number too large to be any of them. Negative and non-finite numbers
    /// are returned as offsets (refused later with their own reasons).
    public static func number(_ n: Double) -> WrittenTime? {
        guard n.isFinite, n >= epochSecondsFrom else { return WrittenTime(.seconds, n) }
        if n < epochMillisecondsFrom { return WrittenTime(.epochSeconds, n) }
        if n < epochMillisecondsTo { return WrittenTime(.epochMilliseconds, n / 1000) }
        return nil
    }

    /// Text in a file or on the command line, in any form platforms write: a number (as `number`),
    /// `HH:MM:SS(.mmm)`, ISO 8601 with a zone, or `YYYY-MM-DD HH:MM(:SS(.mmm))` without one
    /// ("T" or a space between date and time; "/" also accepted between the date's parts).
    /// Nil when it is none of these.
    public static func parse(_ raw: String) -> WrittenTime? {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return nil }
        if let n = Double(text) { return number(n) }
        if let offset = clockOffset(text) { return WrittenTime(.clock, offset) }
        guard let (local, zoneOffset) = dateTime(text) else { return nil }
        if let zoneOffset { return WrittenTime(.iso8601, local - Double(zoneOffset)) }
        return WrittenTime(.local, local)
    }

    /// `H+:MM:SS(.fff)` (a comma also separates the fraction, as subtitle files write it), in seconds.
    static func clockOffset(_ text: String) -> Double? {
        var scanner = DigitScanner(Array(text.utf8))
        let hourDigits = scanner.run()
        guard !hourDigits.isEmpty, hourDigits.count <= 6, let hours = Int(hourDigits), scanner.take(":"),
              let minutes = scanner.digits(2), minutes <= 59, scanner.take(":"),
              let seconds = scanner.digits(2), seconds <= 59 else { return nil }
        var fraction = 0.0
        if scanner.take(".") || scanner.take(",") {
            let digits = scanner.run()
            guard !digits.isEmpty, let f = Double("0." + digits) else { return nil }
            fraction = f
        }
        guard scanner.atEnd else { return nil }
        return Double(hours * 3600 + minutes * 60 + seconds) + fraction
    }

    /// A date and time: the reading as seconds since 1970 if it were UTC, and the zone's offset from
    /// UTC in seconds when one is written ("Z", "+08:00", "+0800", "+08"). Written by hand rather than
    /// with ISO8601DateFormatter so that any number of fraction digits, every offset form and a space
    /// instead of "T" work, identically on every platform, with no calendar or zone database involved.
    static func dateTime(_ text: String) -> (seconds: Double, zoneOffset: Int?)? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.digits(4) else { return nil }
        let separator: Unicode.Scalar = scanner.take("-") ? "-" : scanner.take("/") ? "/" : "?"
        guard separator != "?", let month = scanner.digits(2), scanner.take(separator),
              let day = scanner.digits(2),
              scanner.take("T") || scanner.take("t") || scanner.take(" "),
              let hour = scanner.digits(2), scanner.take(":"),
              let minute = scanner.digits(2) else { return nil }
        var second = 0
        var fraction = 0.0
        if scanner.take(":") {
            guard let s = scanner.digits(2) else { return nil }
            second = s
            if scanner.take(".") || scanner.take(",") {
                let digits = scanner.run()
                guard !digits.isEmpty, let f = Double("0." + digits) else { return nil }
                fraction = f
            }
        }
        var offset: Int? = nil
        if scanner.take("Z") || scanner.take("z") {
            offset = 0
        } else if let sign = scanner.take("+") ? 1 : scanner.take("-") ? -1 : nil {
            guard let oh = scanner.digits(2), oh <= 23 else { return nil }
            var om = 0
            if scanner.take(":") {
                guard let m = scanner.digits(2) else { return nil }
                om = m
            } else if let m = scanner.digits(2) {
                om = m
            }
            guard om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard scanner.atEnd,
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return (Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction, offset)
    }
}

/// Numbers for messages and numeric ids: "754.2", "3", not "3.0".
func formatNumber(_ value: Double) -> String {
    if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}

/// Long values are cut in messages so that a reason stays one short line.
func clip(_ text: String, _ limit: Int = 40) -> String {
    let flat = text.replacingOccurrences(of: "\n", with: " ")
    return flat.count <= limit ? flat : String(flat.prefix(limit)) + "…"
}

extension SignalReader {
    /// Parses ISO 8601 with a zone (with or without fractional seconds, "Z" or an offset). A time
    /// without a zone is refused (nil): its moment depends on a zone (see `WrittenTime.parse`).
    public static func parseDate(_ text: String) -> Date? {
        guard let (seconds, offset) = WrittenTime.dateTime(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let offset else { return nil }
        return Date(timeIntervalSince1970: seconds - Double(offset))
    }
}

/// Days from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm);
/// no Calendar or time-zone database involved.
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// Year, month, day of a day counted from 1970-01-01 (the inverse of `daysFromCivil`).
func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Reads fixed-width ASCII digit groups and single characters, for the time parsers.
struct DigitScanner {
    let bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + count] {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += count
        return value
    }

    /// All digits from here on, as text.
    mutating func run() -> String {
        let start = index
        while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }
}
