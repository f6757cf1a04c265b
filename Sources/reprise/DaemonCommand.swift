import ArgumentParser
import Dispatch
import Foundation
import Logging
import RepriseConsole
import RepriseDaemon
import RepriseJobs
import RepriseProfiles
import ServiceLifecycle

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Watch folders and turn every recording dropped in them into the configured forms.",
        discussion: """
        With --config, settings come from a YAML file (see systemd/reprise.yaml). Without it, \
        --watch, --out and --forms give one watch folder. SIGTERM stops cleanly (running jobs \
        re-queued, partial outputs removed); SIGHUP reloads the configuration. --role, --store and \
        --node override the configuration's role, store and node.
        """)

    @Option(help: "Configuration file.") var config: String?
    @Option(help: "Quick start: the folder to watch.") var watch: String?
    @Option(help: "Quick start: the output folder.") var out: String?
    @Option(help: "Quick start: forms, comma-separated (shorts, highlights, transcode:PROFILE, ladder:NAME).")
    var forms: String = "shorts,highlights,transcode:long-form-720p,ladder:default"
    @Option(help: "Quick start: highlights recipe.") var recipe: String = "default"
    @Option(name: .customLong("state-dir"), help: "Quick start: job store and work files (default: OUT/.reprise).") var stateDir: String?
    @Option(help: "Quick start: seconds a file must stay unchanged before it counts as complete.") var quiet: Double = 10
    @Option(help: "Quick start: parallel jobs.") var workers: Int = 1
    @Option(name: .customLong("profile-dir"), help: "Quick start: another folder of profiles and recipes.") var profileDirs: [String] = []
    @Option(help: "all (watch and work, the default), worker (run jobs only) or watcher (watch folders and queue only).")
    var role: String?
    @Option(help: "The job store: a SQLite file, or postgres://user@host:port/db (default: STATE/jobs.sqlite).") var store: String?
    @Option(help: "This node's name in the store (default: host:pid).") var node: String?
    @Option(name: .customLong("chunk-seconds"), help: "Split transcode jobs into chunks of this many seconds (a multiple of the profile's gop_seconds) that run side by side.")
    var chunkSeconds: Double?
    @Option(help: "Start the review console on HOST:PORT (e.g. 127.0.0.1:8470); overrides the configuration's http.listen.")
    var http: String?
    @Option(name: .customLong("http-token-file"), help: "The console's bearer token file (overrides http.token_file).")
    var httpTokenFile: String?

    func run() throws {
        var logger = Logger(label: "reprise.daemon")
        logger.logLevel = ProcessInfo.processInfo.environment["REPRISE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let settings: DaemonConfig
        do {
            if let config {
                settings = try DaemonConfigLoader.load(path: config)
            } else {
                guard let watch, let out else {
                    throw ValidationError("give --config FILE, or --watch DIR and --out DIR")
                }
                let list = forms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                for f in list where !DaemonConfigLoader.isForm(f) {
                    throw ValidationError("--forms: '\(f)' is not one of \(DaemonConfig.formKinds.joined(separator: ", "))")
                }
                let w = absolute(watch), o = absolute(out)
                var c = DaemonConfig(watches: [.init(folder: w, output: o, forms: list, recipe: recipe,
                                                     quarantine: (w as NSString).appendingPathComponent(".quarantine"))],
                                     source: "command line")
                c.stateDirectory = stateDir.map(absolute) ?? (o as NSString).appendingPathComponent(".reprise")
                c.quietSeconds = quiet
                c.workers = max(1, workers)
                c.profileFolders = profileDirs.map(absolute)
                c.sidecarGraceSeconds = min(c.sidecarGraceSeconds, quiet * 3)
                settings = c
            }
        } catch let e as ValidationError { throw e } catch { fail(error) }
        var node = settings
        if let chunkSeconds {
            guard chunkSeconds >= 1 else { throw ValidationError("--chunk-seconds: \(chunkSeconds) is under 1 s") }
            node.chunkSeconds = chunkSeconds
        }
        if let role {
            guard let r = DaemonConfig.Role(rawValue: role) else {
                throw ValidationError("--role: '\(role)' is not one of \(DaemonConfig.Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            node.role = r
        }
        if let store {
            let value = store.contains("://") ? store : absolute(store)
            if let problem = DaemonConfigLoader.storeProblem(value) { throw ValidationError("--store: \(problem)") }
            node.store = value
        }
        if let name = self.node {
            guard !name.isEmpty else { throw ValidationError("--node: empty name") }
            node.node = name
        }

        if let http {
            guard let (host, port) = DaemonConfig.HTTP.parseListen(http) else { throw ValidationError("--http: '\(http)' is not HOST:PORT") }
            var h = node.http ?? DaemonConfig.HTTP()
            h.host = host; h.port = port
            node.http = h
        }
        if let httpTokenFile {
            guard node.http != nil else { throw ValidationError("--http-token-file: give --http too (or http: in the configuration)") }
            node.http?.tokenFile = absolute(httpTokenFile)
        }
        // The console's settings are checked before anything starts: a bad token file or an open
        // address without a token stops the daemon at once, in one line.
        var console: ConsoleSettings?
        if let h = node.http {
            do {
                var c = ConsoleSettings(host: h.host, port: h.port, token: try h.tokenFile.map(ConsoleSettings.readToken(file:)),
                                        maxBodyBytes: h.maxBodyBytes)
                c.roots = node.watches.map { Daemon.local($0, node.pathMap) }.flatMap { [$0.folder, $0.output, $0.quarantine] + ($0.done.map { [$0] } ?? []) }
                try c.check()
                console = c
            } catch { fail(error) }
        }

        let daemon: Daemon
        do {
            daemon = try Daemon(config: node, configPath: config, executable: Self.executablePath(), logger: logger, opener: .reprise)
        } catch { fail(error) }

        // SIGHUP reloads; SIGTERM/SIGINT stop gracefully through the service group.
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        // The console's token file is read again too (a token rotated without a restart); a bad
        // file keeps the old token. A new listen address or token_file path takes a restart.
        let consoleToken = ConsoleToken(console?.token)
        let tokenFile = console == nil ? nil : node.http?.tokenFile
        let hupLogger = logger
        hup.setEventHandler {
            daemon.requestReload()
            guard let tokenFile else { return }
            do {
                try consoleToken.reload(from: tokenFile)
                hupLogger.notice("console token re-read", metadata: ["file": "\(tokenFile)"])
            } catch {
                hupLogger.error("console token not re-read; keeping the old one", metadata: ["error": "\(error)"])
            }
        }
        hup.resume()

        var services: [any Service] = [DaemonService(daemon: daemon)]
        if let console {
            let data = ConsoleData(store: daemon.jobStore, progress: daemon.progress, roots: PathRoots(console.roots), pathMap: node.pathMap,
                                   nodeWindow: node.heartbeatSeconds * 3)
            var consoleLogger = Logger(label: "reprise.console")
            consoleLogger.logLevel = .warning
            let announce = logger
            do {
                services.append(try ConsoleServer.application(settings: console, data: data, token: consoleToken, logger: consoleLogger) { port in
                    announce.notice("console listening", metadata: ["url": "http://\(console.host.contains(":") ? "[\(console.host)]" : console.host):\(port)/"])
                })
            } catch { fail(error) }
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                 cancellationSignals: [], logger: logger)
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await group.run() } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        hup.cancel()
        if let error = failure.get() { fail(error) }
    }

    func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    /// This binary, for the job children.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Runs the blocking daemon loop on its own thread; a graceful shutdown asks it to stop.
struct DaemonService: Service {
    let daemon: Daemon
    func run() async throws {
        try await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    daemon.run()
                    continuation.resume()
                }
                thread.name = "reprise-daemon"
                thread.start()
            }
        } onGracefulShutdown: {
            daemon.requestStop()
        }
    }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.withLock { error = e } }
    func get() -> Error? { lock.withLock { error } }
}
