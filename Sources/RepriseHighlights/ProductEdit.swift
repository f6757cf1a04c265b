import Foundation

/// A product's span as a person set it in the review console: `id` from the recording's product
/// list, `start` and `end` in seconds on the recording's timeline. Applied where the products file
/// is read, before picking, so the product's clip, chapter titles and tags follow the new span.
public struct ProductEdit: Codable, Sendable, Equatable {
    public var id: String
    public var start: Double
    public var end: Double

    public init(id: String, start: Double, end: Double) { self.id = id; self.start = start; self.end = end }

    static let maximum = 1000

    /// At most 1000, ids given once, every span finite with 0 <= start < end, inside the recording
    /// when its `duration` is known.
    static func check(_ edits: [ProductEdit], duration: Double?, source: String) throws {
        guard edits.count <= maximum else { throw PlanOverridesError("\(source): products: at most \(maximum) of them") }
        var seen = Set<String>()
        for (i, p) in edits.enumerated() {
            guard !p.id.isEmpty, !p.id.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
                throw PlanOverridesError("\(source): product \(i + 1) needs an id (no control characters)")
            }
            guard seen.insert(p.id).inserted else { throw PlanOverridesError("\(source): product \(p.id) is given twice") }
            guard p.start.isFinite, p.end.isFinite, p.start >= 0, p.end > p.start else {
                throw PlanOverridesError("\(source): product \(p.id) must have 0 <= start < end")
            }
            if let duration, p.end > duration + 0.001 {
                throw PlanOverridesError(String(format: "%@: product %@ ends at %.3f s, after the recording (%.3f s)", source, p.id, p.end, duration))
            }
        }
    }

    /// The spans with the edits applied: an edited product keeps its title and gets the new span (a
    /// product listed twice becomes one span, the edited one); spans stay in time order. Returns
    /// the ids no span has, for the plan's notes.
    static func apply(_ edits: [ProductEdit], to spans: [ProductSpan]) -> (spans: [ProductSpan], unknown: [String]) {
        var result: [ProductSpan] = []
        var edited = Set<String>()
        for span in spans {
            guard let edit = edits.first(where: { $0.id == span.id }) else { result.append(span); continue }
            if edited.insert(span.id).inserted { result.append(ProductSpan(id: span.id, title: span.title, start: edit.start, end: edit.end)) }
        }
        let unknown = edits.map(\.id).filter { !edited.contains($0) }
        return (result.sorted { $0.start < $1.start }, unknown)
    }
}
