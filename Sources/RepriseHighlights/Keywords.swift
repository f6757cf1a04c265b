import Foundation

/// One tag of an output and where it came from, so a tag list can be explained.
public struct Tag: Encodable, Sendable, Equatable {
    public var tag: String
    /// Chat messages that were this phrase, whole; nil for a product title.
    public var count: Int?
    /// "product" or "chat".
    public var source: String

    public init(tag: String, count: Int? = nil, source: String) {
        self.tag = tag
        self.count = count
        self.source = source
    }
}

/// Tags from what viewers typed: the chat's own repeated short messages (上链接, 多少钱, 好看),
/// each counted whole. Never pieces cut out of longer messages: Chinese has no spaces, and
/// character pairs sliced from 主播好美 or 质量怎么样 (播好, 么样) are not words.
public enum Keywords {
    /// The longest message, in characters, still taken as a phrase (a tag, not a sentence).
    static let longestCJK = 8
    static let longestOther = 24
    static let mostWords = 3

    /// Messages that say nothing about the stream: greetings and filler. Laughter, numbers (666, 1
    /// for "I want one") and words too short to be tags (ok, 对) are left out by their shape, in `isFiller`.
    static let stop: Set<String> = ["hello", "hey", "yes", "wow", "nice", "thanks", "thank you", "okay",
                                    "你好", "大家好", "主播好", "晚上好", "来了", "来啦", "谢谢", "好的", "嗯嗯", "是的", "主播"]

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x3040...0x30FF, 0xAC00...0xD7AF, 0xF900...0xFAFF: return true
        default: return false
        }
    }

    /// A chat message as a tag: the whole message, its case, width, spacing and surrounding
    /// punctuation and emoji set aside, a phrase typed again and again said once (好看好看,
    /// 上链接！上链接！ → 好看, 上链接). Nil for a message that is a sentence rather than a phrase
    /// (longer than a tag, or clauses of Chinese apart by punctuation) or filler.
    public static func phrase(_ message: String) -> String? {
        // Compatibility forms: full-width ！and Ａ become ! and A.
        let text = message.precomposedStringWithCompatibilityMapping.lowercased()
        var parts: [String] = []
        var part = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if isCJK(s) || CharacterSet.alphanumerics.contains(s) {
                part.append(s)
            } else if !part.isEmpty {
                parts.append(String(part))
                part = String.UnicodeScalarView()
            }
        }
        if !part.isEmpty { parts.append(String(part)) }
        // The same part typed again and again is said once.
        parts = parts.map(collapsed)
        var distinct: [String] = []
        for p in parts where distinct.last != p { distinct.append(p) }
        if distinct.count > 1, Set(distinct).count == 1 { distinct = [distinct[0]] }
        guard !distinct.isEmpty else { return nil }

        let hasCJK = distinct.contains { $0.unicodeScalars.contains(where: isCJK) }
        let phrase: String
        if hasCJK {
            // Chinese clauses apart by punctuation are a sentence; mixed words (iPhone 15) are one phrase.
            guard distinct.count <= 2, distinct.count == 1 || !distinct.allSatisfy({ $0.unicodeScalars.contains(where: isCJK) })
            else { return nil }
            phrase = distinct.joined(separator: " ")
            guard phrase.count <= longestCJK else { return nil }
        } else {
            guard distinct.count <= mostWords else { return nil }
            phrase = distinct.joined(separator: " ")
            guard phrase.count <= longestOther else { return nil }
        }
        return isFiller(phrase) ? nil : phrase
    }

    /// "好看好看" → "好看", "上链接上链接" → "上链接"; a unit of one character is kept as typed
    /// (买买买 is a phrase of its own).
    static func collapsed(_ part: String) -> String {
        let characters = Array(part)
        let n = characters.count
        guard n >= 4 else { return part }
        for unit in 2...(n / 2) where n % unit == 0 {
            let head = characters[0..<unit]
            if stride(from: unit, to: n, by: unit).allSatisfy({ characters[$0..<($0 + unit)] == head }) {
                return String(head)
            }
        }
        return part
    }

    /// Greetings, single characters, numbers, laughter.
    static func isFiller(_ phrase: String) -> Bool {
        if stop.contains(phrase) { return true }
        let letters = phrase.filter { !$0.isWhitespace }
        if letters.unicodeScalars.contains(where: isCJK) {
            if letters.count < 2 { return true }
        } else if letters.count < 3 {
            return true
        }
        if letters.allSatisfy(\.isNumber) { return true }
        let laughter: Set<Character> = ["哈", "呵", "嘿", "嘻", "啊", "哦", "噢", "嗯", "呀", "哇", "h", "a", "e"]
        if letters.allSatisfy(laughter.contains) { return true }
        return ["lol", "lmao", "xd", "xdd"].contains(phrase)
    }

    /// The phrases said in at least `minimum` messages, with how many, most said first (ties in
    /// text order), at most `limit`.
    public static func top(_ texts: [String], limit: Int = 8, minimum: Int = 2) -> [(phrase: String, count: Int)] {
        var counts: [String: Int] = [:]
        for text in texts {
            if let p = phrase(text) { counts[p, default: 0] += 1 }
        }
        return counts.filter { $0.value >= minimum }
            .sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .prefix(limit).map { ($0.key, $0.value) }
    }

    /// An output's tags: the titles of the products it shows, then the chat's repeated short
    /// messages within it (a phrase that is also a title is listed once, as the title).
    public static func tags(products: [String], chat: [String], limit: Int = 8) -> [Tag] {
        var seen = Set<String>()
        var tags: [Tag] = []
        for title in products {
            let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, seen.insert(trimmed.lowercased()).inserted else { continue }
            tags.append(Tag(tag: trimmed, source: "product"))
        }
        for (phrase, count) in top(chat, limit: limit) where seen.insert(phrase).inserted {
            tags.append(Tag(tag: phrase, count: count, source: "chat"))
        }
        return tags
    }
}
