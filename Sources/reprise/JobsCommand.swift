import ArgumentParser
import Foundation
import RepriseJobs
import RepriseProfiles

/// Where the job store is: the config's state folder, or one named directly.
struct StoreLocation: ParsableArguments {
    @Option(help: "Daemon configuration file (its state_dir holds the job store).") var config: String?
    @Option(name: .customLong("state-dir"), help: "The daemon's state folder.") var stateDir: String?

    func open() throws -> any JobStore {
        var dir = stateDir
        if dir == nil, let config { dir = try DaemonConfigLoader.load(path: config).stateDirectory }
        guard let dir else { throw ValidationError("give --state-dir DIR or --config FILE") }
        let path = (dir as NSString).appendingPathComponent("jobs.sqlite")
        guard FileManager.default.fileExists(atPath: path) else {
            throw JobStoreError("\(path): no job store (has the daemon run with this state folder?)")
        }
        return try SQLiteJobStore(path: path)
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

    static func line(_ j: Job) -> String {
        let name = (j.input.path as NSString).lastPathComponent
        var s = "\(j.id)\t\(j.state.rawValue)\t\(j.kind)\t\(name)\tattempts \(j.attempts)"
        if let e = j.lastError { s += "\t\(e)" }
        return s
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
                if json { print(try JobsCommand.encode(jobs)) } else { jobs.forEach { print(JobsCommand.line($0)) } }
            } catch let e as ValidationError { throw e } catch { fail(error) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One job in full (JSON).")
        @OptionGroup var store: StoreLocation
        @Argument var id: Int64
        func run() throws {
            do {
                guard let j = try store.open().job(id) else { throw JobStoreError("no job \(id)") }
                print(try JobsCommand.encode(j))
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
