import Foundation

/// Reads JSON signal files: JSON lines (one object a line), a JSON array of objects, or one
/// object holding the array under the kind's key (`{"products": [...]}`).
///
/// Arrays are split into their entries by a small structural scan before each entry is decoded
/// on its own, so that one broken entry is one bad line (with its real line number) instead of
/// making the whole file unreadable.
struct JSONSignalParser {
    let bytes: [UInt8]
    let kind: SignalKind
    /// Offsets of every "\n", to turn an offset into a line number.
    private let newlines: [Int]

    init(bytes: [UInt8], kind: SignalKind) {
        self.bytes = bytes
        self.kind = kind
        newlines = bytes.indices.filter { bytes[$0] == 0x0A }
    }

    func parse() -> ParsedEntries {
        let start = skipBlanks(0)
        if bytes[start] == UInt8(ascii: "[") {
            return array(at: start, name: "the JSON array", wrapped: false)
        }
        if bytes[start] == UInt8(ascii: "{"), let end = skipValue(start), skipBlanks(end) == bytes.count {
            // The whole file is one object: either the entries under a known key, or one entry.
            if let (key, open) = member(ofObjectAt: start, named: kind.containerKeys) {
                return array(at: open, name: "'\(key)'", wrapped: true)
            }
            if line(of: start) != line(of: end - 1) {
                var parsed = ParsedEntries()
                add(start..<end, to: &parsed)
                return parsed
            }
        }
        return lines()
    }

    /// JSON lines: each non-blank line is one object.
    private func lines() -> ParsedEntries {
        var parsed = ParsedEntries()
        var lineStart = 0
        for lineEnd in newlines + [bytes.count] {
            add(lineStart..<lineEnd, to: &parsed)
            lineStart = lineEnd + 1
        }
        return parsed
    }

    /// The entries of the array opening at `open`; `wrapped` when it is a member of an object
    /// (whose structure was already checked, so what follows the array is not looked at).
    private func array(at open: Int, name: String, wrapped: Bool) -> ParsedEntries {
        var parsed = ParsedEntries()
        parsed.emptyDetail = "\(name) is empty"
        var i = open + 1
        while true {
            i = skipBlanks(i)
            if i >= bytes.count {
                parsed.badLines.append(BadLine(line: line(of: bytes.count - 1),
                                               reason: "\(name) is not closed with ']' (file cut short?)"))
                break
            }
            if bytes[i] == UInt8(ascii: "]") {
                let after = skipBlanks(i + 1)
                if !wrapped, after < bytes.count {
                    parsed.badLines.append(BadLine(line: line(of: after), reason: "text after the end of \(name)"))
                }
                break
            }
            let start = i
            i = entryEnd(from: i)
            add(start..<i, to: &parsed)
            if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
        }
        return parsed
    }

    /// Where an array entry starting at `start` ends: at the "," or "]" that is not nested in it.
    /// Structural only (brackets and strings), so even a malformed entry has an end.
    private func entryEnd(from start: Int) -> Int {
        var depth = 0
        var i = start
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i = skipString(i) ?? bytes.count
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0, bytes[i] == UInt8(ascii: "]") { return i }
                depth = max(0, depth - 1)
            case UInt8(ascii: ","):
                if depth == 0 { return i }
            default:
                break
            }
            i += 1
        }
        return i
    }

    /// Decodes one entry (blank ones are skipped) into `parsed`.
    private func add(_ range: Range<Int>, to parsed: inout ParsedEntries) {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isBlank(bytes[lower]) { lower += 1 }
        while upper > lower, isBlank(bytes[upper - 1]) { upper -= 1 }
        guard lower < upper else { return }
        let lineNumber = line(of: lower)
        // JSONSerialization rather than JSONDecoder: several times faster on big chat files.
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes[lower..<upper]), options: .fragmentsAllowed) else {
            parsed.badLines.append(BadLine(line: lineNumber, reason: "not valid JSON"))
            return
        }
        guard let object = value as? [String: Any] else {
            parsed.badLines.append(BadLine(line: lineNumber, reason: "not a JSON object"))
            return
        }
        var record = SignalRecord()
        for (key, value) in object {
            if let field = Self.field(value) { record[key] = field }
        }
        parsed.entries.append((lineNumber, record))
    }

    /// A decoded JSON value as a field; nil for null. Booleans are told apart from numbers (both
    /// arrive as NSNumber) so that `true` is never read as a time of 1 s.
    private static func field(_ value: Any) -> FieldValue? {
        switch value {
        case is NSNull: return nil
        case let text as String: return .string(text)
        case let number as NSNumber:
            if number.objCType.pointee == CChar(UInt8(ascii: "c")) { return .other(number.boolValue ? "true" : "false") }
            return .number(number.doubleValue)
        case is [Any]: return .other("an array")
        case is [String: Any]: return .other("an object")
        default: return .other("\(value)")
        }
    }

    /// Finds, in the object opening at `open`, a top-level member named one of `names` whose value
    /// is an array; returns its name and the offset of its "[".
    private func member(ofObjectAt open: Int, named names: [String]) -> (String, Int)? {
        var i = skipBlanks(open + 1)
        while i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            guard let keyEnd = skipString(i),
                  let key = (try? JSONSerialization.jsonObject(with: Data(bytes[i..<keyEnd]), options: .fragmentsAllowed)) as? String
            else { return nil }
            i = skipBlanks(keyEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i = skipBlanks(i + 1)
            guard i < bytes.count else { return nil }
            if names.contains(key), bytes[i] == UInt8(ascii: "[") { return (key, i) }
            guard let valueEnd = skipValue(i) else { return nil }
            i = skipBlanks(valueEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
            i = skipBlanks(i + 1)
        }
        return nil
    }

    /// End (exclusive) of the value starting at `start`, by structure; nil if it never ends.
    private func skipValue(_ start: Int) -> Int? {
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return skipString(start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            var i = start
            while i < bytes.count, !isBlank(bytes[i]), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[i]) {
                i += 1
            }
            return i
        }
    }

    /// End (exclusive) of the string whose opening quote is at `start`; nil if it never closes.
    private func skipString(_ start: Int) -> Int? {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return nil
    }

    private func skipBlanks(_ start: Int) -> Int {
        var i = start
        while i < bytes.count, isBlank(bytes[i]) { i += 1 }
        return i
    }

    /// 1-based line of the byte at `offset`.
    private func line(of offset: Int) -> Int {
        var low = 0
        var high = newlines.count
        while low < high {
            let mid = (low + high) / 2
            if newlines[mid] < offset { low = mid + 1 } else { high = mid }
        }
        return low + 1
    }
}
