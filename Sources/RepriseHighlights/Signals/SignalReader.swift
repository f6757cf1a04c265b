import Foundation

/// Reads the "signal" sidecar files of a recording (chat, orders, product timeline) in the formats
/// the tools around live streams actually write: JSON lines, JSON arrays, CSV, danmaku XML.
///
/// One bad entry never spoils a file: it is reported as a `BadLine` and the rest is read. Only a
/// file that is unusable as a whole (unreadable, empty, wrong kind, nothing parses) throws
/// `SignalFileError`, so a mistyped path or a wrong file is never mistaken for a quiet stream.
///
/// A time field may be written in any form platforms use (`WrittenTime.parse`): seconds or
/// `HH:MM:SS(.mmm)` from the recording's start, ISO 8601, `YYYY-MM-DD HH:MM:SS(.mmm)` without a zone
/// (read in the clock's zone), Unix epoch seconds or milliseconds. How they were read is in
/// `SignalFile.times`.
public enum SignalReader {
    /// Chat: JSON lines / JSON array (`t` or `time`, `user`, `text`), CSV (`t,user,text`) or
    /// danmaku XML (`<d p="seconds,…,…,…,…,…,user,…">text</d>`).
    public static func chat(path: String, clock: SignalClock) throws -> SignalFile<ChatMessage> {
        try read(path: path, kind: .chat, clock: clock, build: chatMessage, sortKey: \.time)
    }

    /// Orders: JSON lines / JSON array (`t`, `product` or `product_id`, `kind`, `amount`) or CSV
    /// (`t,product,kind,amount`).
    public static func orders(path: String, clock: SignalClock) throws -> SignalFile<OrderEvent> {
        try read(path: path, kind: .orders, clock: clock, build: orderEvent, sortKey: \.time)
    }

    /// Product timeline: a JSON array, `{"products": [...]}`, JSON lines (`id`, `title`, `start`,
    /// `end`) or CSV (`id,title,start,end`).
    public static func products(path: String, clock: SignalClock) throws -> SignalFile<ProductSpan> {
        try read(path: path, kind: .products, clock: clock, build: productSpan, sortKey: \.start)
    }
}

/// Which signal a file holds: decides its fields, its CSV columns and the formats allowed.
enum SignalKind {
    case chat, orders, products

    /// A CSV column (or JSON key) with its accepted names, the first being the one shown in messages.
    struct Column {
        var names: [String]
        var required: Bool
    }

    var columns: [Column] {
        switch self {
        case .chat:
            return [Column(names: ["t", "time"], required: true), Column(names: ["user"], required: false),
                    Column(names: ["text"], required: true)]
        case .orders:
            return [Column(names: ["t", "time"], required: true),
                    Column(names: ["product", "product_id"], required: true),
                    Column(names: ["kind"], required: false), Column(names: ["amount"], required: false)]
        case .products:
            return [Column(names: ["id"], required: true), Column(names: ["title"], required: false),
                    Column(names: ["start"], required: true), Column(names: ["end"], required: true)]
        }
    }

    /// Keys under which a single JSON object may hold the entries as an array.
    var containerKeys: [String] {
        switch self {
        case .chat: return ["messages"]
        case .orders: return ["orders"]
        case .products: return ["products"]
        }
    }
}

/// One entry of a file, whatever its format: field name → value. JSON keys are kept as written,
/// CSV header names are lowercased.
typealias SignalRecord = [String: FieldValue]

/// What a format reader produced before the kind's rules are applied.
struct ParsedEntries {
    var entries: [(line: Int, record: SignalRecord)] = []
    var badLines: [BadLine] = []
    /// Why there is nothing, when there are neither entries nor bad lines (e.g. "the JSON array is empty").
    var emptyDetail = "no entries"
}

/// The file's layout, from its extension or, failing that, its first character.
enum SignalFormat {
    case json, csv, xml

    init(path: String, firstByte: UInt8) {
        switch (path as NSString).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": self = .json
        case "csv": self = .csv
        case "xml": self = .xml
        default:
            switch firstByte {
            case UInt8(ascii: "{"), UInt8(ascii: "["): self = .json
            case UInt8(ascii: "<"): self = .xml
            default: self = .csv
            }
        }
    }
}

extension SignalReader {
    static func read<Item: Sendable>(path: String, kind: SignalKind, clock: SignalClock,
                                     build: (SignalRecord, TimeReader) throws -> Item,
                                     sortKey: (Item) -> Double) throws -> SignalFile<Item> {
        let bytes = try load(path: path)
        guard let first = bytes.first(where: { !isBlank($0) }) else {
            throw SignalFileError(path: path, detail: "the file is empty")
        }
        let parsed: ParsedEntries
        do {
            switch SignalFormat(path: path, firstByte: first) {
            case .json: parsed = JSONSignalParser(bytes: bytes, kind: kind).parse()
            case .csv: parsed = try CSVSignalParser.parse(bytes: bytes, kind: kind)
            case .xml:
                guard kind == .chat else {
                    throw LineProblem("XML is read only for chat (danmaku); give this file as JSON or CSV")
                }
                parsed = try DanmakuParser.parse(bytes: bytes)
            }
        } catch let problem as LineProblem {
            throw SignalFileError(path: path, detail: problem.reason)
        }

        var items: [(item: Item, order: Int)] = []
        var badLines = parsed.badLines
        let times = TimeReader(clock: clock)
        for entry in parsed.entries {
            do {
                items.append((try build(entry.record, times), items.count))
            } catch let problem as LineProblem {
                badLines.append(BadLine(line: entry.line, reason: problem.reason))
            } catch {
                badLines.append(BadLine(line: entry.line, reason: "\(error)"))
            }
        }
        badLines = badLines.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
        guard !items.isEmpty else {
            guard let firstBad = badLines.first else {
                throw SignalFileError(path: path, detail: parsed.emptyDetail)
            }
            let count = badLines.count == 1 ? "1 bad line" : "\(badLines.count) bad lines"
            throw SignalFileError(path: path, detail: "nothing could be read (\(count); line \(firstBad.line): \(clip(firstBad.reason, 100)))")
        }
        // Stable: entries at the same time keep the file's order.
        items.sort { (sortKey($0.item), $0.order) < (sortKey($1.item), $1.order) }
        return SignalFile(path: path, items: items.map(\.item), badLines: badLines,
                          times: times.readings.describe(clock: clock))
    }

    /// The file's bytes, without a UTF-8 BOM, checked to be UTF-8 text.
    static func load(path: String) throws -> [UInt8] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw SignalFileError(path: path, detail: "no such file")
        }
        guard !isFolder.boolValue else { throw SignalFileError(path: path, detail: "is a folder, not a file") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SignalFileError(path: path, detail: "cannot be read (\(error.localizedDescription))")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let bad = firstInvalidUTF8(bytes) {
            throw SignalFileError(path: path, detail: "not a text file (invalid UTF-8 at byte \(bad))")
        }
        return bytes
    }

    /// Offset of the first byte that is not valid UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

/// Space, tab, CR, LF.
func isBlank(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}
