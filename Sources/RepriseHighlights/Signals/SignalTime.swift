import Foundation

/// How a time in a file becomes seconds of the recording.
/// Signal files come from different systems: some count seconds from the stream's start, others
/// (order systems, chat exports) stamp wall-clock moments, which only mean something once the
/// recording's own start moment is known.
public struct SignalClock: Sendable {
    /// The wall-clock moment of the recording's first frame; nil when unknown, which makes
    /// wall-clock times in files unusable (reported as bad lines, not guessed).
    public var recordingStart: Date?

    public init(recordingStart: Date?) {
        self.recordingStart = recordingStart
    }
}

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

extension SignalClock {
    static let noStartReason = "wall-clock time but the recording's start is unknown (give --recording-start)"

    /// Seconds of the recording for a time field: a number (or numeric text) is already seconds
    /// from the start; ISO 8601 text is a wall-clock moment, taken relative to `recordingStart`.
    func seconds(_ value: FieldValue) throws -> Double {
        let seconds: Double
        switch value {
        case .number(let n):
            seconds = n
        case .string(let raw):
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { throw LineProblem("empty time") }
            if let n = Double(text) {
                seconds = n
            } else if let date = SignalReader.parseDate(text) {
                guard let start = recordingStart else { throw LineProblem(Self.noStartReason) }
                let offset = date.timeIntervalSince(start)
                if offset < 0 {
                    throw LineProblem("wall-clock time \(text) is \(formatNumber(-offset)) s before the recording's start")
                }
                seconds = offset
            } else {
                throw LineProblem("not a time: '\(clip(text))'")
            }
        case .other(let what):
            throw LineProblem("not a time: \(what)")
        }
        guard seconds.isFinite else { throw LineProblem("time is not finite") }
        guard seconds >= 0 else { throw LineProblem("negative time (\(formatNumber(seconds)))") }
        return seconds
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
    /// Parses ISO 8601 (with or without fractional seconds, "Z" or an offset) — also used for --recording-start.
    /// Written by hand rather than with ISO8601DateFormatter so that any number of fraction digits,
    /// "+08:00" / "+0800" / "+08" offsets and a space instead of "T" all work, identically on every
    /// platform. A time without a zone is refused (nil): its moment would be a guess.
    public static func parseDate(_ text: String) -> Date? {
        var scanner = DigitScanner(Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
        guard let year = scanner.digits(4), scanner.take("-"),
              let month = scanner.digits(2), scanner.take("-"),
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
        let offset: Int
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
        } else {
            return nil
        }
        guard scanner.atEnd,
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let whole = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(whole) + fraction)
    }
}

/// Days from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm);
/// no Calendar or time-zone database involved.
private func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Reads fixed-width ASCII digit groups and single characters, for `parseDate`.
private struct DigitScanner {
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
