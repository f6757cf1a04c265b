import Foundation

/// An output's title, tags and description as a person set them in the review console, for the
/// output named `file` (its file name, e.g. `rec.reel.mp4`). A field given replaces the generated
/// one in the output's sidecar (`FILE.json`); every highlights run applies it again.
public struct OutputEdit: Codable, Sendable, Equatable {
    public var file: String
    public var title: String?
    public var tags: [String]?
    public var description: String?

    public init(file: String, title: String? = nil, tags: [String]? = nil, description: String? = nil) {
        self.file = file; self.title = title; self.tags = tags; self.description = description
    }

    static let maximum = 1000, titleLength = 200, descriptionLength = 5000, tagCount = 50, tagLength = 100

    /// File names only (no folder), each once; something to change; lengths the platforms take; no
    /// control characters (a description may break lines).
    static func check(_ edits: [OutputEdit], source: String) throws {
        guard edits.count <= maximum else { throw PlanOverridesError("\(source): outputs: at most \(maximum) of them") }
        var seen = Set<String>()
        func plain(_ s: String, newlines: Bool = false) -> Bool {
            !s.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) && !(newlines && $0 == "\n") }
        }
        for (i, o) in edits.enumerated() {
            guard !o.file.isEmpty, o.file != ".", o.file != "..", !o.file.contains("/"), plain(o.file) else {
                throw PlanOverridesError("\(source): output \(i + 1): file must be an output's file name (no folder)")
            }
            guard seen.insert(o.file).inserted else { throw PlanOverridesError("\(source): output \(o.file) is given twice") }
            guard o.title != nil || o.tags != nil || o.description != nil else {
                throw PlanOverridesError("\(source): output \(o.file): give a title, tags or a description")
            }
            if let title = o.title {
                guard title.count <= titleLength, plain(title) else {
                    throw PlanOverridesError("\(source): output \(o.file): title must be at most \(titleLength) characters, no control characters")
                }
            }
            if let d = o.description {
                guard d.count <= descriptionLength, plain(d, newlines: true) else {
                    throw PlanOverridesError("\(source): output \(o.file): description must be at most \(descriptionLength) characters, no control characters")
                }
            }
            if let tags = o.tags {
                guard tags.count <= tagCount, tags.allSatisfy({ !$0.isEmpty && $0.count <= tagLength && plain($0) }) else {
                    throw PlanOverridesError("\(source): output \(o.file): at most \(tagCount) tags, each 1 to \(tagLength) characters, no control characters")
                }
            }
        }
    }

    /// `older` with this edit's given fields over it.
    func over(_ older: OutputEdit) -> OutputEdit {
        OutputEdit(file: file, title: title ?? older.title, tags: tags ?? older.tags, description: description ?? older.description)
    }

    /// A sidecar's fields with this edit over them (title, tags, description).
    public func applied(to sidecar: [String: Any]) -> [String: Any] {
        var value = sidecar
        if let title { value["title"] = title }
        if let tags { value["tags"] = tags }
        if let description { value["description"] = description }
        return value
    }

    /// A sidecar as the highlights run writes it: pretty, keys sorted, slashes as written.
    public static func sidecarData(_ value: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
