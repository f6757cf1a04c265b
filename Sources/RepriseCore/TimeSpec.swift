/// A time as a user writes it: seconds (`754.2`), clock time (`HH:MM:SS.mmm`, `MM:SS`),
/// or a frame number (`f22626`, counted from 0 in presentation order).
public enum TimeSpec: Equatable, Sendable, CustomStringConvertible {
    case seconds(Double)
    case frame(Int)

    public init?(_ text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("f") || s.hasPrefix("F") {
            guard let n = Int(s.dropFirst()), n >= 0 else { return nil }
            self = .frame(n); return
        }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var total = 0.0
        for (i, p) in parts.enumerated() {
            let isLast = i == parts.count - 1
            guard !p.isEmpty, p.allSatisfy({ $0.isNumber || (isLast && $0 == ".") }),
                  let v = Double(p), v >= 0 else { return nil }
            if !isLast && parts.count > 1 && i > 0 && v >= 60 { return nil }
            if isLast && parts.count > 1 && v >= 60 { return nil }
            total = total * 60 + v
        }
        guard total.isFinite else { return nil }
        self = .seconds(total)
    }

    public var description: String {
        switch self {
        case .seconds(let s): return String(format: "%.3fs", s)
        case .frame(let n): return "f\(n)"
        }
    }
}

import Foundation
