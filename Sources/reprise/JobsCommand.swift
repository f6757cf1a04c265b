import ArgumentParser
import Foundation
import RepriseDaemon
import RepriseJobs
import RepriseProfiles

/// Where the job store is: named directly (`--store`), the config's store (or its state folder's
/// SQLite file), or a state folder's.
struct StoreLocation: ParsableArguments {
    @Option(help: "Daemon configuration file (its store, or the SQLite file in its state_dir).") var config: String?
    @Option(name: .customLong("state-dir"), help: "The daemon's state folder.") var stateDir: String?
    @Option(help: "The job store: a SQLite file, or postgres://user@host:port/db.") var store: String?

    func spec() throws -> StoreSpec {
        if let store {
            let value = store.contains("://") ? store : URL(fileURLWithPath: store).standardizedFileURL.path
            return try StoreSpec.parse(value, stateDirectory: "")
        }
        if let stateDir { return try StoreSpec.parse(nil, stateDirectory: stateDir) }
        if let config {
            let c = try DaemonConfigLoader.load(path: config)
            return try StoreSpec.parse(c.store, stateDirectory: c.stateDirectory)
        }
        throw ValidationError("give --store URL|FILE, --state-dir DIR or --config FILE")
    }

    /// The daemon's heartbeat period (from --config; else the default).
    func heartbeatSeconds() throws -> Double {
        if let config { return try DaemonConfigLoader.load(path: config).heartbeatSeconds }
        return DaemonConfig(watches: [], source: "").heartbeatSeconds
    }

    func open() throws -> any JobStore {
        let spec = try spec()
        if case .sqlite(let path) = spec, !FileManager.default.fileExists(atPath: path) {
            throw JobStoreError("\(path): no job store (has the daemon run with this state folder?)")
        }
        return try StoreOpener.reprise.open(spec)
    }
}

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List the daemon's jobs (the store can be read while the daemon runs).",
        subcommands: [List.self, Show.self, Retry.self, Cancel.self],
        defaultSubcommand: List.self)

    static func encode(_ value: some Encodable) throws -> String {
        let e = JSONEncoder()
        // Milliseconds kept: latencies of a fraction of a second are what operators look at.
        e.dateEncodingStrategy = .custom { date, encoder in
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var c = encoder.singleValueContainer()
            try c.encode(f.string(from: date))
        }
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    /// One job: id, state, kind, input name, attempts, the node that ran it last, its last error.
    static func line(_ j: Job) -> String {
        let name = (j.input.path as NSString).lastPathComponent
        var s = "\(j.id)\t\(j.state.rawValue)\t\(j.kind)\t\(name)\tattempts \(j.attempts)"
        if let node = j.node { s += "\ton \(node)" }
        if let e = j.lastError { s += "\t\(e)" }
        return s
    }

    /// Jobs as lines, each split job followed by its parts (chunks, audio, stitch) indented with
    /// their states. A part whose parent is not in the list stands alone.
    static func lines(_ jobs: [Job]) -> [String] {
        let ids = Set(jobs.map(\.id))
        let parts = Dictionary(grouping: jobs.filter { $0.parentID.map(ids.contains) == true }, by: { $0.parentID! })
        var out: [String] = []
        for j in jobs where j.parentID.map(ids.contains) != true {
            out.append(line(j) + (j.parentID.map { "\tpart of \($0)" } ?? ""))
            for p in (parts[j.id] ?? []).sorted(by: { $0.id < $1.id }) { out.append("  " + line(p)) }
        }
        return out
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")
        @OptionGroup var store: StoreLocation
        @Option(help: "Only these states, comma-separated (queued, running, done, failed, quarantined, cancelled).") var state: String?
        @Flag(help: "JSON output.") var json = false
        func run() throws {
            do {
                let s = try store.open()
                let states = try state.map { text in
                    try Set(text.split(separator: ",").map { name -> Job.State in
                        guard let st = Job.State(rawValue: String(name)) else { throw ValidationError("unknown state '\(name)'") }
                        return st
                    })
                }
                let jobs = try s.jobs(states: states)
                if json { print(try JobsCommand.encode(jobs)) } else { JobsCommand.lines(jobs).forEach { print($0) } }
            } catch let e as ValidationError { throw e } catch { fail(error) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show",
                                                        abstract: "One job in full (JSON), a split job with its parts under \"children\".")
        @OptionGroup var store: StoreLocation
        @Argument var id: Int64
        func run() throws {
            do {
                let s = try store.open()
                guard let j = try s.job(id) else { throw JobStoreError("no job \(id)") }
                let children = try s.children(of: id)
                guard !children.isEmpty else { print(try JobsCommand.encode(j)); return }
                print(try JobsCommand.encode(JobWithChildren(job: j, children: children)))
            } catch { fail(error) }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed, quarantined or cancelled job again.")
        @OptionGroup var store: StoreLocation
        @Argument var id: Int64
        func run() throws {
            do { print(JobsCommand.line(try store.open().retry(id))) } catch { fail(error) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job (a running one is stopped).")
        @OptionGroup var store: StoreLocation
        @Argument var id: Int64
        func run() throws {
            do { print(JobsCommand.line(try store.open().cancel(id, now: Date()))) } catch { fail(error) }
        }
    }
}

/// A split job as `jobs show` prints it: the job's own fields plus its parts.
struct JobWithChildren: Encodable {
    var job: Job
    var children: [Job]
    enum Key: String, CodingKey { case children }
    func encode(to encoder: Encoder) throws {
        try job.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(children, forKey: .children)
    }
}
