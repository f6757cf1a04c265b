import Foundation

/// The clock a file's times are read with, and how they were read (for the plan).
final class TimeReader {
    let clock: SignalClock
    var readings = TimeReadings()
    init(clock: SignalClock) { self.clock = clock }
}

/// The rules that turn one entry (of any format) into an item. Shared by JSON, CSV and XML so a
/// field means the same thing whatever file it came in.
extension SignalReader {
    static func chatMessage(_ record: SignalRecord, clock: TimeReader) throws -> ChatMessage {
        let time = try record.time(["t", "time"], clock: clock)
        let user = try record.text(["user"]) ?? ""
        guard let text = try record.text(["text"]) else { throw LineProblem("no 'text'") }
        return ChatMessage(time: time, user: user, text: text)
    }

    static func orderEvent(_ record: SignalRecord, clock: TimeReader) throws -> OrderEvent {
        let time = try record.time(["t", "time"], clock: clock)
        let product = try record.identifier(["product", "product_id"])
        let kind = (try record.text(["kind"]))?.trimmingCharacters(in: .whitespaces) ?? ""
        let amount = try record.number(["amount"]) ?? 0
        return OrderEvent(time: time, productID: product, kind: kind.isEmpty ? "order" : kind, amount: amount)
    }

    static func productSpan(_ record: SignalRecord, clock: TimeReader) throws -> ProductSpan {
        let id = try record.identifier(["id"])
        let title = try record.text(["title"]) ?? ""
        let start = try record.time(["start"], clock: clock, label: "start")
        let end = try record.time(["end"], clock: clock, label: "end")
        guard end > start else {
            throw LineProblem("end (\(formatNumber(end))) is not after start (\(formatNumber(start)))")
        }
        return ProductSpan(id: id, title: title, start: start, end: end)
    }
}

extension Dictionary where Key == String, Value == FieldValue {
    /// The value under the first of `names` present.
    func first(_ names: [String]) -> FieldValue? {
        for name in names { if let value = self[name] { return value } }
        return nil
    }

    /// Seconds of the recording; a missing time is a problem (an item without a time is useless).
    func time(_ names: [String], clock: TimeReader, label: String? = nil) throws -> Double {
        guard let value = first(names) else { throw LineProblem("no \(describe(names))") }
        do {
            return try clock.clock.seconds(value, readings: &clock.readings)
        } catch let problem as LineProblem {
            throw label.map { LineProblem("\($0): \(problem.reason)") } ?? problem
        }
    }

    /// Text as written (a number is accepted, as its usual spelling: user ids are often numbers);
    /// nil when absent.
    func text(_ names: [String]) throws -> String? {
        switch first(names) {
        case nil: return nil
        case .string(let text): return text
        case .number(let number): return formatNumber(number)
        case .other(let what): throw LineProblem("\(describe(names)) is not text: \(what)")
        }
    }

    /// A required, non-empty id (text or number), trimmed.
    func identifier(_ names: [String]) throws -> String {
        guard let text = try text(names) else { throw LineProblem("no \(describe(names))") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LineProblem("empty '\(names[0])'") }
        return trimmed
    }

    /// A finite number (or numeric text); nil when absent or empty.
    func number(_ names: [String]) throws -> Double? {
        let number: Double
        switch first(names) {
        case nil: return nil
        case .number(let n): number = n
        case .string(let raw):
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { return nil }
            guard let n = Double(text) else { throw LineProblem("'\(names[0])' is not a number: '\(clip(text))'") }
            number = n
        case .other(let what): throw LineProblem("'\(names[0])' is not a number: \(what)")
        }
        guard number.isFinite else { throw LineProblem("'\(names[0])' is not finite") }
        return number
    }
}

/// "'t' (or 'time')", for messages.
func describe(_ names: [String]) -> String {
    let quoted = names.map { "'\($0)'" }
    guard quoted.count > 1 else { return quoted.first ?? "" }
    return "\(quoted[0]) (or \(quoted.dropFirst().joined(separator: ", ")))"
}
