import Foundation
import RepriseProfiles

/// What a job kind means: its priority (shorts feed social channels first, long renders last)
/// and the `reprise` command that makes it. Pure, so it is tested without a daemon.
public enum JobPlan {
    public static func priority(_ kind: String, profiles: ProfileLibrary?) -> Int {
        if kind == "shorts" { return 0 }
        if kind.hasPrefix("transcode:") {
            let name = String(kind.dropFirst("transcode:".count))
            if let max = profiles?.profile(named: name)?.maxDuration, max <= 180 { return 0 }
            return 2
        }
        if kind == "highlights" { return 1 }
        return 3  // ladders: the longest renders
    }

    /// The folder a recording's outputs go to: `output/<recording name>/`.
    public static func outputFolder(input: String, watch: DaemonConfig.Watch) -> String {
        let base = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        return (watch.output as NSString).appendingPathComponent(base)
    }

    /// `hls-NAME`: the folder a ladder job writes in the recording's output folder.
    public static func ladderFolder(_ name: String) -> String { "hls-\(name)" }

    /// Arguments for `reprise` (after the executable). Paths are absolute, so a file named
    /// "-x.mp4" is never read as an option. `into` replaces the recording's output folder (the
    /// daemon's staging folder, whose entries it publishes once the job is done).
    public static func arguments(kind: String, input: String, watch: DaemonConfig.Watch, profileFolders: [String],
                                 into: String? = nil) -> [String] {
        let out = into ?? outputFolder(input: input, watch: watch)
        let dirs = profileFolders.flatMap { ["--profile-dir", $0] }
        if kind.hasPrefix("transcode:") {
            return ["transcode", input, "--profile", String(kind.dropFirst("transcode:".count)), "-o", out, "--json"] + dirs
        }
        if kind.hasPrefix("ladder:") {
            let name = String(kind.dropFirst("ladder:".count))
            return ["ladder", input, "-o", (out as NSString).appendingPathComponent(ladderFolder(name)), "--ladder", name, "--json"] + dirs
        }
        let forms = kind == "shorts" ? "shorts" : "reel,teaser,products,covers"
        return ["highlights", input, "-o", out, "--recipe", watch.recipe, "--forms", forms, "--json"] + dirs
    }

    /// Bytes a job may write, for the free-space check: a generous share of the input's size.
    public static func spaceNeeded(kind: String, inputSize: Int64) -> Int64 {
        if kind == "shorts" { return inputSize / 10 }
        if kind == "highlights" { return inputSize / 2 }
        if kind.hasPrefix("ladder:") { return inputSize * 3 / 2 }
        return inputSize
    }
}
