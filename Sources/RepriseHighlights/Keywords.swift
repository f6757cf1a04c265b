import Foundation

/// The words viewers typed most, for tags. Chinese (and Japanese, Korean) chat has no spaces, so
/// runs of CJK characters are counted as overlapping two-character words; other scripts by words
/// of three letters or more. Filler (哈哈, 666, "the") is left out.
public enum Keywords {
    static let stop: Set<String> = ["the", "and", "you", "this", "that", "for", "with", "are", "was", "have", "what",
                                    "哈哈", "啊啊", "呵呵", "嘿嘿", "666", "我们", "你们", "这个", "那个", "一个", "就是",
                                    "主播", "可以", "什么", "怎么", "没有", "还是", "真的"]

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x3040...0x30FF, 0xAC00...0xD7AF, 0xF900...0xFAFF: return true
        default: return false
        }
    }

    public static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var cjk: [Unicode.Scalar] = []
        var word = ""
        func flushCJK() {
            if cjk.count >= 2 { for i in 0..<(cjk.count - 1) { out.append(String(String.UnicodeScalarView([cjk[i], cjk[i + 1]]))) } }
            cjk.removeAll()
        }
        func flushWord() {
            if word.count >= 3 { out.append(word.lowercased()) }
            word = ""
        }
        for s in text.unicodeScalars {
            if isCJK(s) { flushWord(); cjk.append(s) }
            else if CharacterSet.alphanumerics.contains(s) { flushCJK(); word.unicodeScalars.append(s) }
            else { flushCJK(); flushWord() }
        }
        flushCJK(); flushWord()
        return out.filter { !stop.contains($0) && !$0.allSatisfy(\.isNumber) }
    }

    /// The `limit` most frequent tokens seen at least `minimum` times, most frequent first.
    public static func top(_ texts: [String], limit: Int = 8, minimum: Int = 2) -> [String] {
        var counts: [String: Int] = [:]
        for t in texts { for w in Set(tokens(t)) { counts[w, default: 0] += 1 } }
        return counts.filter { $0.value >= minimum }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(limit).map(\.key)
    }
}
