import ArgumentParser
import Foundation
import RepriseProfiles

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the output profiles and the file each came from.")

    @Option(name: .customLong("profile-dir"), help: "Another folder of profile files (read last, so it overrides).")
    var profileDirs: [String] = []

    func run() throws {
        do {
            let library = try ProfileLibrary(folders: ProfileLibrary.defaultFolders(extra: profileDirs))
            for p in library.profiles.values.sorted(by: { $0.name < $1.name }) {
                print("\(p.name)\t\(p.video.width)x\(p.video.height) \(p.video.codec.rawValue) \(p.container.rawValue)\t\(p.description)")
                print("\t\(p.source)" + (library.overridden[p.name].map { " (overrides \($0.joined(separator: ", ")))" } ?? ""))
            }
        } catch let e as ProfileError {
            FileHandle.standardError.write(Data("reprise: error: \(e)\n".utf8))
            Foundation.exit(1)
        }
    }
}
