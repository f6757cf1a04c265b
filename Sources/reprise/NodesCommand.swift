import ArgumentParser
import Foundation
import RepriseJobs

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the live daemon nodes on a job store: role, running jobs, last heartbeat, load.",
        discussion: "A node is live when its last heartbeat is within three heartbeat periods (heartbeat_seconds).")

    @OptionGroup var store: StoreLocation
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        do {
            let s = try store.open()
            let now = Date()
            let nodes = try s.nodes(seenSince: now.addingTimeInterval(-3 * store.heartbeatSeconds()))
            if json { print(try JobsCommand.encode(nodes)); return }
            for n in nodes {
                let running = n.running.isEmpty ? "idle" : "running " + n.running.map(String.init).joined(separator: ",")
                var line = "\(n.name)\t\(n.role)\t\(running)\t"
                line += String(format: "seen %.1fs ago\tload %.2f", max(0, now.timeIntervalSince(n.seenAt)), n.load)
                if !n.watching.isEmpty { line += "\twatching " + n.watching.joined(separator: ",") }
                print(line)
            }
        } catch let e as ValidationError { throw e } catch { fail(error) }
    }
}
