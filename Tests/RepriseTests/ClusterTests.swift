import Foundation
import XCTest
import RepriseJobs
@testable import RepriseJobsPostgres

/// Several `reprise daemon` nodes on one PostgreSQL store (a throwaway server): many workers and
/// a watcher on one queue; a watcher's standby taking over; and nodes on hosts of their own
/// (network namespaces) where one loses its link while it encodes a chunk.
final class ClusterTests: XCTestCase {
    /// A cluster's shared folders and its nodes' settings.
    final class Cluster {
        let root: URL
        let server: ThrowawayPostgres
        let database: String
        var watch: URL { root.appendingPathComponent("in") }
        var out: URL { root.appendingPathComponent("out") }
        var profiles: URL { root.appendingPathComponent("profiles") }
        var processes: [String: Process] = [:]
        var forms = "transcode:tiny"
        var leaseSeconds = 10.0
        var chunkSeconds: Double?

        init(_ name: String, server: ThrowawayPostgres) throws {
            root = ScratchSpace.makeFolder(name)
            self.server = server
            database = try server.createDatabase()
            for d in [watch, out, profiles] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
            try DaemonTests.tinyProfile.write(to: profiles.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        }

        var url: String { server.url(database) }
        func store() throws -> PostgresJobStore { try server.store(database) }
        func log(_ node: String) -> URL { root.appendingPathComponent("\(node).log") }

        /// `reprise daemon` arguments for node `name` in `role`, from a config file of its own.
        func arguments(node name: String, role: String) throws -> [String] {
            let config = root.appendingPathComponent("\(name).yaml")
            let list = forms.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ", ")
            try """
                state_dir: "\(root.appendingPathComponent("state-\(name)").path)"
                store: "\(url)"
                node: "\(name)"
                role: \(role)
                workers: 1
                quiet_seconds: 1
                sidecar_grace_seconds: 0
                lease_seconds: \(leaseSeconds)
                heartbeat_seconds: 1
                \(chunkSeconds.map { "chunk_seconds: \($0)" } ?? "")
                profile_dirs: ["\(profiles.path)"]
                watch:
                  - folder: "\(watch.path)"
                    output: "\(out.path)"
                    forms: [\(list)]
                """.write(to: config, atomically: true, encoding: .utf8)
            return ["daemon", "--config", config.path]
        }

        /// Starts node `name` here (or on a lab host), its output in `NAME.log`.
        func start(_ name: String, role: String, lab: NetworkLab? = nil, host: NetworkLab.Host? = nil) throws {
            let args = try arguments(node: name, role: role)
            let env = ["PGPASSWORD": server.password]
            if let lab, let host {
                let binary = try XCTUnwrap(Reprise.binary, "the reprise binary is not built")
                processes[name] = try lab.start(on: host, binary.path, args, environment: env, stdout: log(name), stderr: log(name))
                return
            }
            let p = Process()
            p.executableURL = Reprise.binary
            p.arguments = args
            p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            FileManager.default.createFile(atPath: log(name).path, contents: nil)
            let handle = try FileHandle(forWritingTo: log(name))
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            processes[name] = p
        }

        func kill(_ name: String, _ signal: Int32 = SIGKILL) {
            guard let p = processes[name] else { return }
            Glibc.kill(p.processIdentifier, signal)
            p.waitUntilExit()
            processes[name] = nil
        }

        func stopAll() {
            for (name, p) in processes {
                Glibc.kill(p.processIdentifier, SIGTERM)
                if !pollUntil(timeout: 30, { !p.isRunning }) { Glibc.kill(p.processIdentifier, SIGKILL) }
                p.waitUntilExit()
                processes[name] = nil
            }
        }

        func logText(_ node: String) -> String { String(decoding: (try? Data(contentsOf: log(node))) ?? Data(), as: UTF8.self) }

        /// Every file under the output folder, hidden ones included.
        func outputFiles() -> [String] {
            let e = FileManager.default.enumerator(atPath: out.path)
            var files: [String] = []
            while let f = e?.nextObject() as? String { files.append(f) }
            return files.sorted()
        }

        /// Polls the store until `predicate(jobs)` holds.
        func waitFor(_ what: String, timeout: TimeInterval, _ predicate: ([Job]) -> Bool,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [Job] {
            let store = try self.store()
            var last: [Job] = []
            if pollUntil(timeout: timeout, every: 0.5, { last = (try? store.jobs(states: nil, limit: 10_000)) ?? last; return predicate(last) }) {
                return last
            }
            let states = Dictionary(grouping: last, by: \.state).mapValues(\.count)
            XCTFail("timed out waiting for \(what): \(states); logs:\n" + processes.keys.sorted().map { "== \($0)\n\(logText($0).suffix(1500))" }.joined(separator: "\n"),
                    file: file, line: line)
            return last
        }
    }

    nonisolated(unsafe) private static var server: ThrowawayPostgres?
    override class func setUp() { super.setUp(); server = try? ThrowawayPostgres.start() }
    override class func tearDown() { server?.stop(); server = nil; super.tearDown() }
    private func startedServer() throws -> ThrowawayPostgres {
        if let s = Self.server { return s }
        return try ThrowawayPostgres.start()  // throws the reason it could not start
    }

    /// Three workers and a watcher on one queue; 60 recordings dropped at once. Every job is done
    /// exactly once (one claim each), by more than one worker, and every output is whole.
    func testManyNodesOneQueue() throws {
        let c = try Cluster("cluster-queue", server: try startedServer())
        defer { c.stopAll() }
        try c.start("watcher", role: "watcher")
        for n in 1...3 { try c.start("worker\(n)", role: "worker") }
        // Made beside the folder, then renamed in: all 60 appear at once.
        let spec = DaemonTests.tinySpec
        let source = try Fixtures.get(spec).url
        let pending = c.root.appendingPathComponent("pending")
        try FileManager.default.createDirectory(at: pending, withIntermediateDirectories: true)
        let names = (0..<60).map { String(format: "room-%02d.mp4", $0) }
        for name in names { try FileManager.default.copyItem(at: source, to: pending.appendingPathComponent(name)) }
        for name in names { XCTAssertEqual(rename(pending.appendingPathComponent(name).path, c.watch.appendingPathComponent(name).path), 0) }

        let jobs = try c.waitFor("60 jobs done", timeout: 600) { $0.count == 60 && $0.allSatisfy { $0.state == .done } }
        XCTAssertEqual(jobs.count, 60, "one job per recording, none queued twice")
        XCTAssertEqual(Set(jobs.map(\.input.path)), Set(names.map { c.watch.appendingPathComponent($0).path }))
        XCTAssertEqual(jobs.filter { $0.attempts != 1 || $0.fence != 1 }.map(\.id), [], "every job claimed exactly once")
        let byNode = Dictionary(grouping: jobs, by: { $0.node ?? "?" }).mapValues(\.count)
        XCTAssertEqual(Set(byNode.keys).subtracting(["worker1", "worker2", "worker3"]), [], "\(byNode)")
        XCTAssertGreaterThan(byNode.count, 1, "the work was shared: \(byNode)")
        for job in jobs {
            XCTAssertEqual(job.outputs.count, 1, "job \(job.id): \(job.outputs)")
            for path in job.outputs {
                XCTAssertEqual(try FFprobe.frames(URL(fileURLWithPath: path), stream: "v:0").count, spec.frameCount, "\(path): not whole")
            }
        }
        XCTAssertEqual(c.outputFiles().filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }, [], "staging or partial files left")

        // `reprise nodes` on the same store sees the four nodes with their roles.
        let listed = try Reprise.run(["nodes", "--store", c.url, "--json"], environment: ["PGPASSWORD": c.server.password])
        XCTAssertEqual(listed.status, 0, listed.transcript)
        let roles = Dictionary((JSONValue.parse(listed.output.stdout)?.array ?? []).map { ($0["name"]?.string ?? "?", $0["role"]?.string ?? "?") },
                               uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(roles, ["watcher": "watcher", "worker1": "worker", "worker2": "worker", "worker3": "worker"])
    }

    /// The watcher is killed (kill -9); its standby takes the folder over within the lease time
    /// (PostgreSQL frees the dead session's advisory lock) and nothing is queued twice.
    func testWatcherFailover() throws {
        let c = try Cluster("cluster-failover", server: try startedServer())
        defer { c.stopAll() }
        try c.start("first", role: "watcher")
        let store = try c.store()
        XCTAssertTrue(pollUntil(timeout: 60) { ((try? store.nodes(seenSince: Date().addingTimeInterval(-5))) ?? []).contains { $0.name == "first" && $0.watching == [c.watch.path] } },
                      "the first watcher never held the folder: \(c.logText("first").suffix(2000))")
        try c.start("standby", role: "watcher")
        try c.start("worker", role: "worker")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: c.watch.appendingPathComponent("before.mp4"))
        _ = try c.waitFor("before.mp4 done", timeout: 120) { $0.count == 1 && $0[0].state == .done }
        let standbyNode = try XCTUnwrap(try store.nodes(seenSince: Date().addingTimeInterval(-5)).first { $0.name == "standby" })
        XCTAssertEqual(standbyNode.watching, [], "a standby watches nothing while the first holds the folder")

        c.kill("first")
        let killedAt = Date()
        XCTAssertTrue(pollUntil(timeout: c.leaseSeconds * 3) {
            ((try? store.nodes(seenSince: Date().addingTimeInterval(-2))) ?? []).contains { $0.name == "standby" && $0.watching == [c.watch.path] }
        }, "the standby did not take the folder over: \(c.logText("standby").suffix(2000))")
        let takeover = Date().timeIntervalSince(killedAt)
        XCTAssertLessThanOrEqual(takeover, c.leaseSeconds, "took \(takeover) s")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: c.watch.appendingPathComponent("after.mp4"))
        let jobs = try c.waitFor("after.mp4 done", timeout: 120) { $0.count == 2 && $0.allSatisfy { $0.state == .done } }
        XCTAssertEqual(jobs.map { ($0.input.path as NSString).lastPathComponent }.sorted(), ["after.mp4", "before.mp4"], "each file queued once")
    }

    /// Workers on hosts of their own (network namespaces), the server on a third. A worker's link
    /// is cut while it encodes a chunk: it stops the chunk before its lease runs out, the other
    /// worker redoes that chunk once the lease has expired, and the stitched output is exact.
    /// When the cut worker's link comes back, it publishes nothing.
    func testACutLinkLosesTheChunkToAnotherNodeAndPublishesNothing() throws {
        let lab = try NetworkLab()
        defer { lab.tearDown() }
        let db = try lab.addHost("db"), h1 = try lab.addHost("n1"), h2 = try lab.addHost("n2")
        let server = try ThrowawayPostgres.start(on: db)
        defer { server.stop() }
        let c = try Cluster("cluster-cut", server: server)
        defer { c.stopAll() }
        // Slow enough (seconds a chunk) that the cut surely lands while one is being encoded.
        try """
            name: crawl
            video: {width: 320, height: 180, quality: 30, encoder_options: {preset: placebo}}
            audio: {bitrate: 32k}
            """.write(to: c.profiles.appendingPathComponent("crawl.yaml"), atomically: true, encoding: .utf8)
        c.forms = "transcode:crawl"
        c.chunkSeconds = 4
        c.leaseSeconds = 4
        let spec = FixtureSpec(seconds: 12, width: 320, height: 180, audioBed: true)
        let input = c.watch.appendingPathComponent("rec.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: input)
        try c.start("n1", role: "worker", lab: lab, host: h1)
        let store = try c.store()
        let parent = try XCTUnwrap(try store.enqueue(try InputIdentity.of(path: input.path), watchFolder: c.watch.path,
                                                      kinds: [("transcode:crawl", 2)], now: Date()).first)

        let running = try c.waitFor("a chunk running on n1", timeout: 120) { jobs in
            jobs.contains { $0.kind.hasPrefix("chunk:") && $0.state == .running && $0.node == "n1" }
        }
        let victim = try XCTUnwrap(running.first { $0.kind.hasPrefix("chunk:") && $0.state == .running && $0.node == "n1" })
        try lab.cut(h1)
        try c.start("n2", role: "worker", lab: lab, host: h2)
        _ = try c.waitFor("the stitched output", timeout: 400) { jobs in jobs.contains { $0.id == parent.id && $0.state == .done } }

        let redone = try XCTUnwrap(try store.job(victim.id))
        XCTAssertEqual(redone.state, .done)
        XCTAssertEqual(redone.node, "n2", "the cut node's chunk was redone by the other node")
        XCTAssertGreaterThan(redone.fence, victim.fence)
        // n1 notices when its own store calls time out (call_timeout), which a loaded machine may
        // bring after n2 has already finished: polled, with a deadline.
        XCTAssertTrue(pollUntil(timeout: 90) { c.logText("n1").contains("lease lost") }, "n1 never noticed: \(c.logText("n1").suffix(2000))")
        let done = try XCTUnwrap(try store.job(parent.id))
        let output = try XCTUnwrap(done.outputs.first.map(URL.init(fileURLWithPath:)))
        XCTAssertEqual(try VideoReadback.read(output).indices, Array(0..<spec.frameCount), "every frame once (barcode)")
        XCTAssertEqual(try FFprobe.packets(output).filter(\.isKeyframe).compactMap(\.ptsSeconds).sorted(), [0, 2, 4, 6, 8, 10])
        let files = c.outputFiles()
        XCTAssertEqual(files, ["rec", "rec/rec.crawl.mp4"], "parts and staging removed")
        let published = try FileManager.default.attributesOfItem(atPath: output.path)

        // The link comes back: n1 talks to the store again (a fresh heartbeat) and publishes nothing.
        try lab.restore(h1)
        let restored = Date()
        XCTAssertTrue(pollUntil(timeout: 120) { ((try? store.nodes(seenSince: restored)) ?? []).contains { $0.name == "n1" } },
                      "n1 never came back: \(c.logText("n1").suffix(2000))")
        XCTAssertEqual(c.outputFiles(), files, "n1 published something after its link came back")
        let after = try FileManager.default.attributesOfItem(atPath: output.path)
        XCTAssertEqual(after[.modificationDate] as? Date, published[.modificationDate] as? Date)
        XCTAssertEqual(after[.size] as? Int, published[.size] as? Int)
        XCTAssertEqual(try store.job(victim.id)?.node, "n2")
        XCTAssertEqual(try store.job(victim.id)?.fence, redone.fence)
    }
}
