import Foundation

/// A file's bytes and modification time, to prove a tool left it alone.
struct FileSnapshot: Equatable, Sendable {
    var bytes: Data
    var modified: Date?

    init(_ url: URL) throws {
        bytes = try Data(contentsOf: url)
        modified = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
    }

    /// Names in a folder (hidden ones included), sorted.
    static func listing(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }
}
