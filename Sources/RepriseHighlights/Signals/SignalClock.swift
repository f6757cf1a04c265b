import Foundation

/// How a time in a file becomes seconds of the recording.
/// Signal files come from different systems: some count seconds from the stream's start, others
/// (order systems, chat exports, live-comment APIs) stamp moments — ISO 8601, Unix epoch seconds or
/// milliseconds, or a local wall-clock reading without a zone — which only mean something once the
/// recording's own start moment (and, for wall-clock readings, their zone) is known.
public struct SignalClock: Sendable {
    /// The moment of the recording's first frame; nil when unknown, which makes moments in files
    /// unusable (reported as bad lines, not guessed).
    public var recordingStart: Date?
    /// The zone of wall-clock readings written without one.
    public var timeZone: SignalTimeZone

    public init(recordingStart: Date?, timeZone: SignalTimeZone = .machine) {
        self.recordingStart = recordingStart
        self.timeZone = timeZone
    }

    static let noStartReason = "wall-clock time but the recording's start is unknown (give --recording-start)"

    /// The moment a written time names; nil for an offset from the recording's start.
    public func moment(_ time: WrittenTime) -> Date? {
        switch time.reading {
        case .seconds, .clock: return nil
        case .local: return timeZone.moment(ofLocal: time.value)
        case .iso8601, .epochSeconds, .epochMilliseconds: return Date(timeIntervalSince1970: time.value)
        }
    }

    /// Seconds of the recording for a written time (`text` is how it was written, for messages).
    func seconds(_ time: WrittenTime, text: String) throws -> Double {
        var seconds = time.value
        if let moment = moment(time) {
            guard let start = recordingStart else {
                throw LineProblem(time.reading == .iso8601 || time.reading == .local ? Self.noStartReason
                                  : "Unix epoch time but the recording's start is unknown (give --recording-start)")
            }
            seconds = moment.timeIntervalSince(start)
            if seconds < 0 {
                throw LineProblem("wall-clock time \(clip(text)) is \(formatNumber(-seconds)) s before the recording's start")
            }
        }
        guard seconds.isFinite else { throw LineProblem("time is not finite") }
        guard seconds >= 0 else { throw LineProblem("negative time (\(formatNumber(seconds)))") }
        return seconds
    }

    /// Seconds of the recording for a time field: a number, or text in any form `WrittenTime.parse`
    /// reads. The reading used is counted in `readings`.
    func seconds(_ value: FieldValue, readings: inout TimeReadings) throws -> Double {
        let time: WrittenTime
        let text: String
        switch value {
        case .number(let n):
            text = formatNumber(n)
            guard let t = WrittenTime.number(n) else {
                throw LineProblem("\(clip(text)) is too large for seconds, or Unix epoch seconds or milliseconds")
            }
            time = t
        case .string(let raw):
            text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { throw LineProblem("empty time") }
            if let n = Double(text), !n.isFinite { throw LineProblem("time is not finite") }
            guard let t = WrittenTime.parse(text) else { throw LineProblem("not a time: '\(clip(text))'") }
            time = t
        case .other(let what):
            throw LineProblem("not a time: \(what)")
        }
        let seconds = try seconds(time, text: text)
        readings.add(time.reading, text: text)
        return seconds
    }
}

/// How a file's times were read, counted, so the plan can say it ("times read as local wall-clock
/// (e.g. 2026-12-01 20:13:45) in Asia/Shanghai (+08:00)").
public struct TimeReadings: Sendable, Equatable {
    /// Times read each way.
    public private(set) var counts: [TimeReading: Int] = [:]
    /// The first time read each way, as written.
    public private(set) var examples: [TimeReading: String] = [:]

    public init() {}

    mutating func add(_ reading: TimeReading, text: String) {
        counts[reading, default: 0] += 1
        if examples[reading] == nil { examples[reading] = text }
    }

    /// One line for the plan; nil when no time was read.
    public func describe(clock: SignalClock) -> String? {
        let used = TimeReading.allCases.filter { counts[$0] != nil }
        let zone = clock.timeZone.describe(at: clock.recordingStart ?? Date())
        func phrase(_ reading: TimeReading) -> String {
            let example = clip(examples[reading] ?? "", 32)
            switch reading {
            case .seconds: return "seconds from the recording's start (e.g. \(example))"
            case .clock: return "HH:MM:SS from the recording's start (e.g. \(example))"
            case .iso8601: return "ISO 8601 moments (e.g. \(example))"
            case .local: return "local wall-clock (e.g. \(example)) in \(zone)"
            case .epochSeconds: return "Unix epoch seconds (e.g. \(example))"
            case .epochMilliseconds: return "Unix epoch milliseconds (e.g. \(example))"
            }
        }
        switch used.count {
        case 0: return nil
        case 1: return "times read as \(phrase(used[0]))"
        default: return "times read as: " + used.map { "\(counts[$0] ?? 0) \(phrase($0))" }.joined(separator: "; ")
        }
    }
}

/// A recording start or zone that cannot be used; one line for the CLI.
public struct SignalTimeError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension SignalClock {
    /// The clock of a recording, and where its start and zone came from, in words for the plan.
    /// - Parameters:
    ///   - start: `--recording-start` as written (ISO 8601, a zone-less wall-clock reading, or Unix
    ///     epoch seconds or milliseconds); nil to take the recording's own creation time.
    ///   - zone: `--timezone`; nil to take the zone a creation time is written in, else the machine's.
    ///   - creationTimes: the recording's creation-time tags (name, value), preferred first.
    public static func forRecording(start: String?, zone: SignalTimeZone?,
                                    creationTimes: [(name: String, value: String)]) throws -> (clock: SignalClock, statements: [String]) {
        var statements: [String] = []
        // MP4 and Matroska store creation times in UTC, so a "Z" says nothing of where the stream
        // was; an explicit offset (a phone's com.apple.quicktime.creationdate, an FLV's tag) does.
        let zoned = creationTimes.lazy.compactMap { tag -> (String, String, Int)? in
            let text = tag.value.trimmingCharacters(in: .whitespaces)
            guard let last = text.unicodeScalars.last, last != "Z", last != "z",
                  let offset = WrittenTime.dateTime(text)?.zoneOffset else { return nil }
            return (tag.name, text, offset)
        }.first
        let chosenZone: SignalTimeZone
        let zoneFrom: String
        if let zone {
            chosenZone = zone
            zoneFrom = "from --timezone"
        } else if let zoned {
            chosenZone = SignalTimeZone(secondsFromGMT: zoned.2)
            zoneFrom = "from the recording's \(zoned.0) \(zoned.1)"
        } else {
            chosenZone = .machine
            zoneFrom = "the machine's zone (give --timezone for another)"
        }
        var clock = SignalClock(recordingStart: nil, timeZone: chosenZone)

        if let start {
            guard let time = WrittenTime.parse(start) else {
                throw SignalTimeError(description: "--recording-start \(start) is not a time (give ISO 8601, "
                                      + "YYYY-MM-DD HH:MM:SS, or Unix epoch seconds or milliseconds)")
            }
            guard let moment = clock.moment(time) else {
                throw SignalTimeError(description: "--recording-start \(start) is an offset, not a moment: give when the recording started")
            }
            clock.recordingStart = moment
            statements.append("recording start \(chosenZone.iso8601(moment)): --recording-start \(start)"
                              + Self.readAs(time.reading, zone: chosenZone, at: moment))
        } else {
            for tag in creationTimes {
                guard let time = WrittenTime.parse(tag.value), let moment = clock.moment(time) else { continue }
                clock.recordingStart = moment
                statements.append("recording start \(chosenZone.iso8601(moment)): the recording's \(tag.name) \(tag.value)"
                                  + Self.readAs(time.reading, zone: chosenZone, at: moment))
                break
            }
        }
        let at = clock.recordingStart ?? Date()
        statements.append("times without a zone are read in \(chosenZone.describe(at: at)), \(zoneFrom)")
        return (clock, statements)
    }

    private static func readAs(_ reading: TimeReading, zone: SignalTimeZone, at: Date) -> String {
        switch reading {
        case .local: return ", read as local wall-clock in \(zone.describe(at: at))"
        case .epochSeconds: return ", read as Unix epoch seconds"
        case .epochMilliseconds: return ", read as Unix epoch milliseconds"
        default: return ""
        }
    }
}
