import Foundation

/// The profiles a user can name: the shipped ones, then each override folder in order
/// (a later file with the same name replaces an earlier one), e.g. /etc/reprise/profiles.
public struct ProfileLibrary: Sendable {
    public private(set) var profiles: [String: Profile] = [:]
    /// Profiles replaced by a later folder: name → the file that was overridden.
    public private(set) var overridden: [String: [String]] = [:]

    /// Loads every `*.yaml` in `folders` (missing folders are skipped). A bad file is an error.
    public init(folders: [String]) throws {
        for folder in folders {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                // Ladders and recipes share the folder but are not output profiles.
                if name.hasPrefix("ladder-") || name.hasPrefix("recipe-") { continue }
                let profile = try ProfileLoader.load(path: (folder as NSString).appendingPathComponent(name))
                if let old = profiles[profile.name] { overridden[profile.name, default: []].append(old.source) }
                profiles[profile.name] = profile
            }
        }
    }

    public func profile(named name: String) -> Profile? { profiles[name] }

    /// Where shipped profiles are found: $REPRISE_PROFILES, an installed share folder beside the
    /// binary, or the source tree's Profiles/ (for a binary run from .build/).
    public static func shippedFolder(executable: String = CommandLine.arguments[0]) -> String? {
        if let env = ProcessInfo.processInfo.environment["REPRISE_PROFILES"] { return env }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = dir.deletingLastPathComponent().appendingPathComponent("share/reprise/profiles")
        if FileManager.default.fileExists(atPath: installed.path) { return installed.path }
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Profiles")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("long-form.yaml").path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    /// Shipped, then system-wide, then the user's own, then any given on the command line.
    public static func defaultFolders(extra: [String] = []) -> [String] {
        var folders: [String] = []
        if let shipped = shippedFolder() { folders.append(shipped) }
        folders.append("/etc/reprise/profiles")
        if let home = ProcessInfo.processInfo.environment["HOME"] { folders.append(home + "/.config/reprise/profiles") }
        return folders + extra
    }
}
