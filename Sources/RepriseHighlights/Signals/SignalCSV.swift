import Foundation

/// Reads CSV signal files: a header row naming the columns (any order, any case), then one row
/// per entry, quoted as RFC 4180 says (quoted fields may hold commas, doubled quotes and newlines).
/// Columns are found by name because exports put them in whatever order they like.
enum CSVSignalParser {
    /// One row and the 1-based line it starts on (a quoted newline makes a row span lines).
    struct Row {
        var line: Int
        var fields: [String]
        /// A quote opened in this row never closed: the rest of the file went into one field.
        var unclosedQuote: Bool
    }

    static func parse(bytes: [UInt8], kind: SignalKind) throws -> ParsedEntries {
        let rows = rows(bytes)
        guard let header = rows.first else { throw LineProblem("the file is empty") }
        if header.unclosedQuote { throw LineProblem("the header row has a quote that is never closed") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = kind.columns.filter { column in
            column.required && !column.names.contains(where: names.contains)
        }.map { "'\($0.names[0])'" }
        if !missing.isEmpty {
            let found = clip(header.fields.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ","), 80)
            let what = missing.count == 1 ? "no column \(missing[0])" : "no columns \(missing.joined(separator: ", "))"
            throw LineProblem("\(what) in the header (found: \(found))")
        }

        var parsed = ParsedEntries()
        parsed.emptyDetail = "no rows after the header"
        for row in rows.dropFirst() {
            if row.unclosedQuote {
                parsed.badLines.append(BadLine(line: row.line, reason: "a quote opened here is never closed"))
            } else if row.fields.count != names.count {
                parsed.badLines.append(BadLine(line: row.line,
                                               reason: "\(row.fields.count) fields, but the header has \(names.count)"))
            } else {
                var record = SignalRecord()
                for (index, name) in names.enumerated() where !name.isEmpty && record[name] == nil {
                    record[name] = .string(row.fields[index])
                }
                parsed.entries.append((row.line, record))
            }
        }
        return parsed
    }

    /// Splits the bytes into rows, skipping blank ones. Works on bytes: the delimiters are ASCII,
    /// which never occur inside a multi-byte UTF-8 character.
    static func rows(_ bytes: [UInt8]) -> [Row] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let count = bytes.count
        /// Length of the row terminator at `i` ("\n", "\r\n", or a final "\r"); 0 if none.
        func terminator(_ i: Int) -> Int {
            guard i < count else { return 0 }
            if bytes[i] == lf { return 1 }
            if bytes[i] == cr { return i + 1 == count ? 1 : bytes[i + 1] == lf ? 2 : 0 }
            return 0
        }

        var rows: [Row] = []
        var i = 0
        var line = 1
        while i < count {
            var row = Row(line: line, fields: [], unclosedQuote: false)
            var sawQuote = false
            while true {
                var field: [UInt8] = []
                if i < count, bytes[i] == quote {
                    sawQuote = true
                    i += 1
                    var closed = false
                    while i < count {
                        if bytes[i] == quote {
                            if i + 1 < count, bytes[i + 1] == quote {
                                field.append(quote)
                                i += 2
                                continue
                            }
                            i += 1
                            closed = true
                            break
                        }
                        if bytes[i] == lf { line += 1 }
                        field.append(bytes[i])
                        i += 1
                    }
                    if !closed { row.unclosedQuote = true }
                    // Lenient about text between the closing quote and the comma: spaces are
                    // dropped, anything else is kept.
                    var tail: [UInt8] = []
                    while i < count, bytes[i] != comma, terminator(i) == 0 {
                        tail.append(bytes[i])
                        i += 1
                    }
                    if tail.contains(where: { $0 != 0x20 && $0 != 0x09 }) { field += tail }
                } else {
                    while i < count, bytes[i] != comma, terminator(i) == 0 {
                        field.append(bytes[i])
                        i += 1
                    }
                }
                row.fields.append(String(decoding: field, as: UTF8.self))
                if i < count, bytes[i] == comma {
                    i += 1
                    continue
                }
                let end = terminator(i)
                if end > 0 {
                    i += end
                    line += 1
                }
                break
            }
            let blank = !sawQuote && row.fields.count == 1
                && row.fields[0].trimmingCharacters(in: .whitespaces).isEmpty
            if !blank { rows.append(row) }
        }
        return rows
    }
}
