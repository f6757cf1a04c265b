import Foundation

/// The zone that wall-clock times written without one (`2026-12-01 20:13:45`, as Chinese platforms
/// export them) are read in: an IANA zone (daylight saving applied) or a fixed offset from UTC.
public struct SignalTimeZone: Sendable, Equatable {
    let zone: TimeZone
    /// "Asia/Shanghai", or "+08:00" for a fixed offset.
    public let name: String

    /// An IANA name ("Asia/Shanghai", "UTC") or a fixed offset ("+08:00", "+0800", "+08", "-05:30",
    /// "Z"); nil for anything else.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "Z" || trimmed == "z" {
            self.init(secondsFromGMT: 0)
            return
        }
        if let first = trimmed.unicodeScalars.first, first == "+" || first == "-" {
            var scanner = DigitScanner(Array(trimmed.utf8.dropFirst()))
            guard let hours = scanner.digits(2), hours <= 23 else { return nil }
            var minutes = 0
            if scanner.take(":") {
                guard let m = scanner.digits(2) else { return nil }
                minutes = m
            } else if let m = scanner.digits(2) {
                minutes = m
            }
            guard minutes <= 59, scanner.atEnd else { return nil }
            self.init(secondsFromGMT: (first == "-" ? -1 : 1) * (hours * 3600 + minutes * 60))
            return
        }
        // Only names the zone database knows: Foundation also takes "GMT+8"-like spellings and
        // abbreviations ("CST" is China's, America's and Cuba's), which are refused here as unclear.
        guard trimmed.contains("/") || trimmed == "UTC" || trimmed == "GMT", let zone = TimeZone(identifier: trimmed) else { return nil }
        self.init(zone: zone, name: trimmed)
    }

    public init(secondsFromGMT seconds: Int) {
        zone = TimeZone(secondsFromGMT: seconds) ?? TimeZone(secondsFromGMT: 0)!
        name = Self.offsetText(seconds)
    }

    /// The machine's own zone.
    public static var machine: SignalTimeZone {
        let zone = TimeZone.current
        return SignalTimeZone(zone: zone, name: zone.identifier)
    }

    private init(zone: TimeZone, name: String) {
        self.zone = zone
        self.name = name
    }

    /// Seconds east of UTC at `date`.
    public func offset(at date: Date) -> Int { zone.secondsFromGMT(for: date) }

    /// The moment a wall-clock reading (seconds since 1970 as if UTC, see `WrittenTime`) names in
    /// this zone. A reading that a daylight-saving change skips or repeats takes the offset in force
    /// just before it.
    public func moment(ofLocal local: Double) -> Date {
        let guess = Date(timeIntervalSince1970: local - Double(offset(at: Date(timeIntervalSince1970: local))))
        return Date(timeIntervalSince1970: local - Double(offset(at: guess)))
    }

    /// "Asia/Shanghai (+08:00)", or "+08:00" for a fixed offset, at `date`.
    public func describe(at date: Date) -> String {
        let offset = Self.offsetText(offset(at: date))
        return name == offset ? offset : "\(name) (\(offset))"
    }

    /// "2026-12-01T20:13:45+08:00": `date` as this zone's wall clock (milliseconds when it has them).
    public func iso8601(_ date: Date) -> String {
        let offset = offset(at: date)
        let local = date.timeIntervalSince1970 + Double(offset)
        let whole = Int(local.rounded(.down))
        let millis = Int(((local - Double(whole)) * 1000).rounded())
        let days = Int((Double(whole) / 86_400).rounded(.down))
        let (y, m, d) = civilFromDays(days)
        let s = whole - days * 86_400
        var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, s / 3600, s / 60 % 60, s % 60)
        if millis > 0 { text += String(format: ".%03d", min(999, millis)) }
        return text + Self.offsetText(offset)
    }

    /// "+08:00", "-05:30", "+00:00".
    static func offsetText(_ seconds: Int) -> String {
        let magnitude = abs(seconds) / 60
        return (seconds < 0 ? "-" : "+") + String(format: "%02d:%02d", magnitude / 60, magnitude % 60)
    }
}
