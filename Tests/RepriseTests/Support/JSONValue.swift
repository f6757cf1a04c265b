import Foundation

/// A parsed JSON value that keeps `true` apart from `1` (Foundation's JSONSerialization on Linux
/// hands both back as NSNumber, and `as? Bool` / `is Bool` cannot tell them apart).
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    static func parse(_ data: Data) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: data) }
    static func parse(_ text: String) -> JSONValue? { parse(Data(text.utf8)) }

    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var object: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var isNull: Bool { self == .null }

    /// A number, or a string holding one ("30", "30000/1001").
    var double: Double? {
        switch self {
        case .number(let n): return n
        case .string(let s): return FFprobe.rational(s)
        default: return nil
        }
    }

    var int: Int? { double.flatMap { $0 == $0.rounded() ? Int($0) : nil } }
}
