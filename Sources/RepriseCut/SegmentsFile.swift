import Foundation

/// Reads a reel description: a JSON array of `{"from": T, "to": T}` (numbers or strings),
/// or an object with a `segments` array of the same.
public enum SegmentsFile {
    public static func load(_ path: String) throws -> [RangeRequest] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CutError(.badSegments, path: path, detail: "can't read the segments file")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw CutError(.badSegments, path: path, detail: "not valid JSON (\(error.localizedDescription))")
        }
        let list: [Any]
        if let a = json as? [Any] { list = a }
        else if let o = json as? [String: Any], let a = o["segments"] as? [Any] { list = a }
        else { throw CutError(.badSegments, path: path, detail: "expected an array of {\"from\", \"to\"} objects") }
        guard !list.isEmpty else { throw CutError(.badSegments, path: path, detail: "holds no segments") }
        return try list.enumerated().map { i, item in
            guard let o = item as? [String: Any] else {
                throw CutError(.badSegments, path: path, detail: "segment \(i + 1) is not an object")
            }
            func time(_ key: String) throws -> TimeSpec {
                let text: String
                if let n = o[key] as? NSNumber { text = n.stringValue }
                else if let s = o[key] as? String { text = s }
                else { throw CutError(.badSegments, path: path, detail: "segment \(i + 1) has no \"\(key)\"") }
                guard let t = TimeSpec(text) else {
                    throw CutError(.badSegments, path: path, detail: "segment \(i + 1): \"\(key)\": \(text) is not a time (seconds, HH:MM:SS.mmm or fN)")
                }
                return t
            }
            return RangeRequest(from: try time("from"), to: try time("to"))
        }
    }
}
