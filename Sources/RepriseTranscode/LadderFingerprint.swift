import Foundation
import RepriseProfiles

/// A short fingerprint of a ladder's definition (rungs, codecs, rates, encoder options, GOP and
/// segment seconds, audio): parts of one chunked ladder must all have been encoded from the same
/// definition, and a ladder file edited between two chunk runs would otherwise stitch silently.
/// Its description and the file it was read from are left out (they change no output byte).
public enum LadderFingerprint {
    public static func of(_ ladder: Ladder) -> String {
        var l = ladder
        l.description = ""
        l.source = ""
        return fnv1a64(canonical(l))
    }

    /// Every stored property, in declaration order, by reflection (so a field added to `Ladder`,
    /// `Profile.Video` or `Profile.Audio` is fingerprinted without anyone remembering to); the
    /// entries of dictionaries (encoder options) and sets sorted, as their order is the hash's.
    static func canonical(_ value: Any) -> String {
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .struct?, .class?, .tuple?:
            return "{" + m.children.map { "\($0.label ?? "_")=\(canonical($0.value))" }.joined(separator: ",") + "}"
        case .optional?:
            return m.children.first.map { canonical($0.value) } ?? "nil"
        case .collection?:
            return "[" + m.children.map { canonical($0.value) }.joined(separator: ",") + "]"
        case .dictionary?, .set?:
            return "[" + m.children.map { canonical($0.value) }.sorted().joined(separator: ",") + "]"
        default:
            // Strings quoted, enum cases by their qualified name, numbers as Swift prints them
            // (the shortest text that reads back as the same value).
            return String(reflecting: value)
        }
    }

    /// 16 hex digits of FNV-1a 64 (identity, not security: the parts are the user's own).
    static func fnv1a64(_ text: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
