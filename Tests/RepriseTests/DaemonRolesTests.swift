import Foundation
import XCTest
@testable import RepriseDaemon
@testable import RepriseJobs
@testable import RepriseProfiles

/// Daemons as nodes of one store: path maps, the new settings, roles (watcher, worker, a standby
/// watcher taking over), `reprise nodes`, and publishing under a claim (staged outputs renamed into
/// place only while the claim holds; a stolen claim publishes nothing; kill -9 leaves no partial).
final class DaemonRolesTests: XCTestCase {
    typealias Harness = DaemonTests.Harness

    // MARK: pure parts

    func testPathMapRewritesWholeComponentsLongestPrefixFirst() {
        let m = PathMap([.init(from: "/srv/reprise", to: "/mnt/nfs/reprise/"), .init(from: "/srv/reprise/replays", to: "/fast/replays")])
        XCTAssertEqual(m.local("/srv/reprise/incoming/a b.mp4"), "/mnt/nfs/reprise/incoming/a b.mp4")
        XCTAssertEqual(m.local("/srv/reprise"), "/mnt/nfs/reprise")
        XCTAssertEqual(m.local("/srv/reprise/replays/a/x.mp4"), "/fast/replays/a/x.mp4", "the longest prefix wins")
        XCTAssertEqual(m.local("/srv/reprise2/a.mp4"), "/srv/reprise2/a.mp4", "prefixes match whole components")
        XCTAssertEqual(m.local("/elsewhere/a.mp4"), "/elsewhere/a.mp4", "unmapped paths pass unchanged")
        XCTAssertEqual(m.canonical("/mnt/nfs/reprise/incoming/a b.mp4"), "/srv/reprise/incoming/a b.mp4")
        XCTAssertEqual(m.canonical("/fast/replays/a/x.mp4"), "/srv/reprise/replays/a/x.mp4")
        XCTAssertEqual(m.canonical("/mnt/nfs/reprisex/a"), "/mnt/nfs/reprisex/a")
        for p in ["/srv/reprise/incoming/x.mp4", "/srv/reprise/replays/r/hls-default/master.m3u8", "/srv/reprise"] {
            XCTAssertEqual(m.canonical(m.local(p)), p, "round trip of \(p)")
        }
        let root = PathMap([.init(from: "/", to: "/host")])
        XCTAssertEqual(root.local("/a/b"), "/host/a/b")
        XCTAssertEqual(root.canonical("/host/a/b"), "/a/b")
        XCTAssertEqual(root.canonical("/host"), "/")
        XCTAssertEqual(PathMap().local("/a"), "/a")
    }

    func testNewSettingsParseAndErrorsNameFileLineAndField() throws {
        let folder = ScratchSpace.makeFolder("roles-config")
        let path = folder.appendingPathComponent("reprise.yaml").path
        let watch = "watch:\n  - folder: /srv/in\n    output: /srv/out\n    forms: [shorts]\n"
        try """
            store: postgres://reprise@db.example:5432/reprise
            node: encoder-1
            role: worker
            lease_seconds: 20
            heartbeat_seconds: 2
            path_map:
              - {from: /srv, to: /mnt/srv}
            \(watch)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try DaemonConfigLoader.load(path: path)
        XCTAssertEqual(c.store, "postgres://reprise@db.example:5432/reprise")
        XCTAssertEqual(c.node, "encoder-1")
        XCTAssertEqual(c.role, .worker)
        XCTAssertEqual(c.leaseSeconds, 20)
        XCTAssertEqual(c.heartbeatSeconds, 2)
        XCTAssertEqual(c.pathMap.local("/srv/in/a.mp4"), "/mnt/srv/in/a.mp4")

        try watch.write(toFile: path, atomically: true, encoding: .utf8)
        let defaults = try DaemonConfigLoader.load(path: path)
        XCTAssertNil(defaults.store)
        XCTAssertNil(defaults.node)
        XCTAssertEqual(defaults.role, .all)
        XCTAssertEqual(defaults.leaseSeconds, 30)
        XCTAssertEqual(defaults.heartbeatSeconds, 5)
        XCTAssertEqual(defaults.pathMap, PathMap())
        XCTAssertEqual(try StoreSpec.parse(defaults.store, stateDirectory: "/var/lib/reprise"), .sqlite(path: "/var/lib/reprise/jobs.sqlite"))

        let cases: [(yaml: String, error: String)] = [
            ("workers: 1\nrole: boss\n", "\(path):2: role: 'boss' is not one of: all, worker, watcher"),
            ("store: postgres://reprise:secret@db/reprise\n", "\(path):1: store: the URL holds a password"),
            ("store: jobs.sqlite\n", "\(path):1: store: 'jobs.sqlite' is not an absolute path"),
            ("path_map:\n  - from: /srv\n    to: /mnt\n  - from: /data\n    to: data\n", "\(path):5: path_map[1].to: 'data' is not an absolute path"),
            ("path_map:\n  - {from: /srv}\n", "\(path):2: path_map[0].to: missing"),
            ("lease_seconds: 4\nheartbeat_seconds: 5\n", "\(path):2: heartbeat_seconds: 5.0 must be shorter than lease_seconds (4.0)"),
            ("lease_seconds: 1\n", "\(path):1: lease_seconds: 1.0 is out of range"),
        ]
        for c in cases {
            try (c.yaml + watch).write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try DaemonConfigLoader.load(path: path), c.yaml) { e in
                XCTAssertTrue("\(e)".hasPrefix(c.error), "\(e)\nexpected: \(c.error)")
            }
        }
    }

    /// Until the PostgreSQL engine is linked, a postgres:// store fails with one clear line, from the
    /// opener and from `reprise daemon`, `reprise jobs` and `reprise nodes`.
    /// Store settings are printed without a password, and a unix-socket URL is a store.
    func testStoreURLsArePrintedWithoutTheirPasswordAndSocketsAreAccepted() {
        XCTAssertEqual(DaemonConfigLoader.redactedStore("postgres://u:p@ss@db/x"), "postgres://u:***@db/x")
        XCTAssertEqual(DaemonConfigLoader.redactedStore("postgres://u@db:5432/x"), "postgres://u@db:5432/x")
        XCTAssertNil(DaemonConfigLoader.storeProblem("postgres://u@/x?host=/run/postgresql"))
        XCTAssertNil(DaemonConfigLoader.storeProblem("postgres://u@db:5432/x"))
        XCTAssertNotNil(DaemonConfigLoader.storeProblem("postgres:///x"), "no host and no socket folder")
        let problem = DaemonConfigLoader.storeProblem("postgres://u:secret@db/x") ?? ""
        XCTAssertTrue(problem.contains("password"), problem)
        XCTAssertThrowsError(try StoreSpec.parse("postgres://u:secret@db/x", stateDirectory: "/s")) { e in
            XCTAssertFalse("\(e)".contains("secret"), "\(e)")
            XCTAssertTrue("\(e)".contains("postgres://u:***@db/x"), "\(e)")
        }
    }

    /// A PostgreSQL store nobody answers for: `daemon`, `jobs` and `nodes` each fail with one
    /// line naming the store (and no password), not a hang or a crash.
    func testAnUnreachablePostgresStoreFailsInOneLine() throws {
        let url = "postgres://reprise@127.0.0.1:1/reprise"
        let root = ScratchSpace.makeFolder("roles-postgres")
        for args in [["daemon", "--watch", root.appendingPathComponent("in").path, "--out", root.appendingPathComponent("out").path, "--store", url],
                     ["jobs", "--store", url], ["nodes", "--store", url]] {
            let run = try Reprise.run(args, environment: ["PGPASSWORD": "secret-password"])
            XCTAssertNotEqual(run.status, 0, run.transcript)
            let last = run.stderrLines.last ?? ""
            XCTAssertTrue(last.hasPrefix("reprise: error: postgres://reprise@127.0.0.1:1/reprise"), run.transcript)
            XCTAssertFalse(run.transcript.contains("secret-password"), "the password is never printed")
        }
    }

    /// Publishing renames staged entries into place: a file over an older one, a folder (a ladder)
    /// in place of an older folder, and leaves no staging folder; an earlier attempt's staging
    /// folder is removed by the next attempt's `prepare`.
    func testStagedPublishReplacesOlderOutputsAndLeavesNoStaging() throws {
        let target = ScratchSpace.makeFolder("roles-publish").appendingPathComponent("rec").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: target + "/hls-default", withIntermediateDirectories: true)
        try "old".write(toFile: target + "/rec.tiny.mp4", atomically: true, encoding: .utf8)
        try "old".write(toFile: target + "/hls-default/old-only.m4s", atomically: true, encoding: .utf8)
        try "keep".write(toFile: target + "/other.txt", atomically: true, encoding: .utf8)
        let stale = StagedPublish(target: target, jobID: 7, fence: 1)
        try stale.prepare()
        try "partial".write(toFile: stale.folder + "/rec.tiny.mp4", atomically: true, encoding: .utf8)

        let staging = StagedPublish(target: target, jobID: 7, fence: 2)
        XCTAssertEqual(try staging.prepare(), [stale.folder], "the earlier attempt's staging folder is removed")
        XCTAssertFalse(fm.fileExists(atPath: stale.folder))
        try fm.createDirectory(atPath: staging.folder + "/hls-default", withIntermediateDirectories: true)
        try "new".write(toFile: staging.folder + "/rec.tiny.mp4", atomically: true, encoding: .utf8)
        try "new".write(toFile: staging.folder + "/hls-default/master.m3u8", atomically: true, encoding: .utf8)
        try "tmp".write(toFile: staging.folder + "/.rec.tiny.mp4.tmp", atomically: true, encoding: .utf8)
        XCTAssertEqual(staging.finalPath(staging.folder + "/hls-default/master.m3u8"), target + "/hls-default/master.m3u8")
        XCTAssertEqual(staging.finalPath("/elsewhere/x"), "/elsewhere/x")

        XCTAssertEqual(try staging.publish(), [target + "/hls-default", target + "/rec.tiny.mp4"])
        XCTAssertTrue(fm.fileExists(atPath: staging.journal), "the journal stays until the store has recorded the job")
        staging.discard()  // as the daemon does once the job is recorded done
        XCTAssertEqual(try String(contentsOfFile: target + "/rec.tiny.mp4", encoding: .utf8), "new")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target + "/hls-default"), ["master.m3u8"], "the old folder is replaced whole")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target).sorted(), ["hls-default", "other.txt", "rec.tiny.mp4"],
                       "no staging folder, no old copy, nothing hidden left")
    }

    /// A node lost between the renames of a publish and the store's record: the job's next
    /// attempt finds the earlier staging folder's journal and finishes those renames (outputs
    /// never left half replaced, nothing encoded or published twice); a stale folder without a
    /// journal (lost before publishing) is not resumed but removed.
    func testAnUnfinishedPublishIsFinishedByTheNextAttempt() throws {
        let target = ScratchSpace.makeFolder("roles-resume").appendingPathComponent("rec").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in ["rec.reel.mp4", "rec.teaser.mp4"] { try "old".write(toFile: target + "/" + name, atomically: true, encoding: .utf8) }
        let lost = StagedPublish(target: target, jobID: 9, fence: 1)
        try lost.prepare()
        for name in ["rec.reel.mp4", "rec.teaser.mp4"] { try "new".write(toFile: lost.folder + "/" + name, atomically: true, encoding: .utf8) }
        // The lost attempt proved its claim, wrote its journal and renamed one output of two.
        try lost.writeJournal(["rec.reel.mp4", "rec.teaser.mp4"])
        XCTAssertEqual(rename(lost.folder + "/rec.reel.mp4", target + "/rec.reel.mp4"), 0)
        let beforePublish = StagedPublish(target: target, jobID: 9, fence: 2)
        try fm.createDirectory(atPath: beforePublish.folder, withIntermediateDirectories: false)  // lost before publishing

        let next = StagedPublish(target: target, jobID: 9, fence: 3)
        let earlier = try XCTUnwrap(next.unfinishedPublish())
        XCTAssertEqual(earlier.folder, lost.folder)
        XCTAssertEqual(try earlier.publish(), [target + "/rec.reel.mp4", target + "/rec.teaser.mp4"])
        for name in ["rec.reel.mp4", "rec.teaser.mp4"] {
            XCTAssertEqual(try String(contentsOfFile: target + "/" + name, encoding: .utf8), "new", name)
        }
        earlier.discard()
        XCTAssertNil(next.unfinishedPublish(), "a folder without a journal is not a publish under way")
        XCTAssertEqual(try next.prepare(), [beforePublish.folder])
        next.discard()
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: target).sorted(), ["rec.reel.mp4", "rec.teaser.mp4"])
    }

    /// `reprise jobs` names each job's node and lists a split job's parts under it with their
    /// states; `jobs show` gives the parts under "children".
    func testJobsShowNodesAndParts() throws {
        let state = ScratchSpace.makeFolder("roles-jobs")
        let store = try SQLiteJobStore(path: state.appendingPathComponent("jobs.sqlite").path)
        let input = InputIdentity(path: "/in/rec.mp4", size: 1, modified: 0, hash: String(repeating: "a", count: 32))
        let parent = try XCTUnwrap(try store.enqueue(input, watchFolder: "/in", kinds: [(kind: "transcode:long-form", priority: 2)]).first)
        let (_, claim) = try XCTUnwrap(try store.claimNext(node: "n1", pid: 1, lease: 60, now: Date()))
        let parts = try store.split(claim, into: [
            JobDraft(kind: "chunk:transcode:long-form", priority: 2, payload: "{\"chunk\":0}"),
            JobDraft(kind: "chunk:transcode:long-form", priority: 2, payload: "{\"chunk\":1}"),
            JobDraft(kind: "stitch:transcode:long-form", priority: 2, payload: "{}", needs: [0, 1], completesParent: true),
        ], now: Date())
        XCTAssertEqual(parts.count, 3)
        let (first, firstClaim) = try XCTUnwrap(try store.claimNext(node: "n2", pid: 2, lease: 60, now: Date()))
        try store.markDone(firstClaim, outputs: [], now: Date())

        let list = try Reprise.run(["jobs", "--state-dir", state.path])
        XCTAssertEqual(list.status, 0, list.transcript)
        XCTAssertEqual(list.output.stdoutText.split(separator: "\n").map(String.init), [
            "\(parent.id)\twaiting\ttranscode:long-form\trec.mp4\tattempts 1\ton n1",
            "  \(parts[0].id)\tdone\tchunk:transcode:long-form\trec.mp4\tattempts 1\ton n2",
            "  \(parts[1].id)\tqueued\tchunk:transcode:long-form\trec.mp4\tattempts 0",
            "  \(parts[2].id)\tqueued\tstitch:transcode:long-form\trec.mp4\tattempts 0",
        ])
        XCTAssertEqual(first.id, parts[0].id)
        let byFile = try Reprise.run(["jobs", "--store", state.appendingPathComponent("jobs.sqlite").path])
        XCTAssertEqual(byFile.output.stdoutText, list.output.stdoutText, "--store FILE names the same store")
        let show = try Reprise.run(["jobs", "show", String(parent.id), "--state-dir", state.path])
        XCTAssertEqual(show.status, 0, show.transcript)
        let shown = try XCTUnwrap(JSONValue.parse(show.output.stdout))
        XCTAssertEqual(shown["id"]?.int, Int(parent.id))
        XCTAssertEqual(shown["node"]?.string, "n1")
        XCTAssertEqual(shown["children"]?.array?.compactMap { $0["state"]?.string }, ["done", "queued", "queued"])
        let plain = try Reprise.run(["jobs", "show", String(parts[0].id), "--state-dir", state.path])
        XCTAssertNil(JSONValue.parse(plain.output.stdout)?["children"], "a job that is not split has no children field")
    }

    // MARK: real daemons

    /// The store's file, for the test to act as another node on it.
    func store(_ h: Harness) throws -> SQLiteJobStore {
        try SQLiteJobStore(path: h.state.appendingPathComponent("jobs.sqlite").path)
    }

    func waitForLog(_ h: Harness, _ log: URL, _ text: String, timeout: TimeInterval = 60) -> Bool {
        let found = pollUntil(timeout: timeout) { Self.read(log).contains(text) }
        if !found { XCTFail("timed out waiting for '\(text)' in \(log.lastPathComponent):\n\(Self.read(log).suffix(3000))") }
        return found
    }

    static func read(_ url: URL) -> String { String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }

    /// Log lines whose message (the end of the line) is `suffix`.
    static func lines(_ url: URL, endingWith suffix: String) -> [String] {
        read(url).split(separator: "\n").map(String.init).filter { $0.hasSuffix(suffix) }
    }

    /// Files under the output folder that are outside a staging folder.
    static func published(_ h: Harness) -> [String] {
        h.outputFiles().filter { !$0.contains(".reprise-staging-") }
    }

    /// A worker whose claim is taken by another node (its lease expired, the job claimed again and
    /// finished there) stops, publishes nothing and records nothing: the job's outputs are the
    /// other claim's.
    func testWorkerWhoseClaimIsTakenPublishesNothing() throws {
        let h = try Harness("roles-stolen")
        h.forms = "transcode:slow"
        h.workers = 1
        h.extraConfig = "lease_seconds: 3\nheartbeat_seconds: 1"
        try FileManager.default.copyItem(at: try Fixtures.get(.h264MP4).url, to: h.watch.appendingPathComponent("rec.mp4"))
        try h.start()
        defer { h.stop() }
        let running = try h.waitFor("the job running") { $0.first?["state"]?.string == "running" }
        let id = try XCTUnwrap(running.first?["id"]?.int)
        XCTAssertTrue(pollUntil(timeout: 30) { !DaemonTests.processes(mentioning: h.watch.path).isEmpty }, "no job process")

        // Another node, later: the lease has run out, the job is queued again and claimed there.
        let other = try store(h)
        let later = Date().addingTimeInterval(3600)
        XCTAssertEqual(try other.expireLeases(now: later), 1)
        let (job, claim) = try XCTUnwrap(try other.claimNext(node: "thief", pid: 1, lease: 3600, now: later))
        XCTAssertEqual(job.id, Int64(id))
        XCTAssertGreaterThan(claim.fence, Int64(running.first?["fence"]?.int ?? 0))
        let recFolder = h.out.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: recFolder, withIntermediateDirectories: true)
        let theirs = recFolder.appendingPathComponent("rec.slow.mp4")
        try Data("the other node's output".utf8).write(to: theirs)
        try other.markDone(claim, outputs: [theirs.path], now: later)

        XCTAssertTrue(waitForLog(h, h.log, "lease lost; another node owns job \(id) now"))
        XCTAssertTrue(pollUntil(timeout: 30) { DaemonTests.processes(mentioning: h.watch.path).isEmpty }, "the job process was not stopped")
        XCTAssertTrue(pollUntil(timeout: 10) { !h.outputFiles().contains { $0.contains(".reprise-staging-") } }, "staging left: \(h.outputFiles())")
        let after = try XCTUnwrap(try other.job(Int64(id)))
        XCTAssertEqual(after.state, .done)
        XCTAssertEqual(after.node, "thief")
        XCTAssertEqual(after.outputs, [theirs.path], "the job's outputs are the other claim's")
        XCTAssertEqual(try Data(contentsOf: theirs), Data("the other node's output".utf8), "the worker published over the other node's output")
        XCTAssertEqual(h.outputFiles(), ["rec", "rec/rec.slow.mp4"])
        XCTAssertEqual(Self.read(h.log).components(separatedBy: "lease lost; another node owns job").count - 1, 1, "logged once")
    }

    /// A node lost between a publish's renames and the store's record: the job's lease runs out,
    /// and the daemon that takes it next finishes the renames from the journal and records the
    /// outputs the lost attempt's child reported, encoding nothing again.
    func testTheNextAttemptFinishesALostPublishWithoutEncoding() throws {
        let h = try Harness("roles-resume")
        h.workers = 1
        h.extraConfig = "lease_seconds: 3\nheartbeat_seconds: 1"
        let input = h.watch.appendingPathComponent("rec.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: input)
        try FileManager.default.createDirectory(at: h.state, withIntermediateDirectories: true)
        let lost = try store(h)
        let job = try XCTUnwrap(try lost.enqueue(try InputIdentity.of(path: input.path), watchFolder: h.watch.path,
                                                 kinds: [(kind: "transcode:tiny", priority: 2)]).first)
        // The lost node's claim, its lease long over; it had proven it and begun publishing.
        let (_, claim) = try XCTUnwrap(try lost.claimNext(node: "lost", pid: 1, lease: 1, now: Date().addingTimeInterval(-60)))
        let recFolder = h.out.appendingPathComponent("rec").path
        let staging = StagedPublish(target: recFolder, jobID: job.id, fence: claim.fence)
        try staging.prepare()
        let final = recFolder + "/rec.tiny.mp4"
        try Data("the lost attempt's whole output".utf8).write(to: URL(fileURLWithPath: staging.folder + "/rec.tiny.mp4"))
        try Data("its cover".utf8).write(to: URL(fileURLWithPath: staging.folder + "/rec.tiny.jpg"))
        try staging.writeJournal(["rec.tiny.jpg", "rec.tiny.mp4"], outputs: [final])
        XCTAssertEqual(rename(staging.folder + "/rec.tiny.jpg", recFolder + "/rec.tiny.jpg"), 0, "one entry of two renamed before the node was lost")

        try h.start()
        defer { h.stop() }
        let done = try h.waitFor("the job done", timeout: 120) { $0.first?["state"]?.string == "done" }
        XCTAssertEqual(done.first?["id"]?.int, Int(job.id))
        XCTAssertTrue(waitForLog(h, h.log, "finishing the publish an earlier attempt began"))
        XCTAssertEqual(try String(contentsOfFile: final, encoding: .utf8), "the lost attempt's whole output", "encoded again")
        let after = try XCTUnwrap(try lost.job(job.id))
        XCTAssertEqual(after.outputs, [final], "the outputs the lost attempt's child reported")
        XCTAssertGreaterThan(after.fence, claim.fence)
        XCTAssertTrue(pollUntil(timeout: 10) { Self.published(h) == h.outputFiles() }, "staging left: \(h.outputFiles())")
        XCTAssertEqual(h.outputFiles(), ["rec", "rec/rec.tiny.jpg", "rec/rec.tiny.mp4"])
    }

    /// A watcher and a worker as two processes on one SQLite store: a dropped recording is queued by
    /// the watcher and done by the worker. A second watcher stands by, and takes the folder over
    /// when the first is killed (kill -9), without queueing the first recording again.
    /// `reprise nodes` lists the three with their roles.
    func testWatcherWorkerAndStandbyWatcherShareOneStore() throws {
        let h = try Harness("roles-split")
        h.workers = 1
        let logs = ["w1", "k1", "w2"].map { h.root.appendingPathComponent("\($0).log") }
        let w1 = try h.launch(["--role", "watcher", "--node", "w1"], logFile: logs[0])
        var processes = [w1]
        defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        XCTAssertTrue(waitForLog(h, logs[0], "watching"))
        // A role-all daemon wants the SQLite store alone: refused while a watcher uses it.
        let all = try Reprise.run(["daemon", "--watch", h.watch.path, "--out", h.out.path, "--state-dir", h.state.path,
                                   "--forms", h.forms, "--quiet", "1", "--profile-dir", h.profiles.path], timeout: 30)
        XCTAssertNotEqual(all.status, 0, all.transcript)
        XCTAssertEqual(all.stderrLines.last, "reprise: error: \(h.state.path): another reprise daemon is using this state folder", all.transcript)
        processes.append(try h.launch(["--role", "worker", "--node", "k1"], logFile: logs[1]))
        processes.append(try h.launch(["--role", "watcher", "--node", "w2"], logFile: logs[2]))
        XCTAssertTrue(waitForLog(h, logs[2], "standby: another node watches this folder"))

        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: h.watch.appendingPathComponent("a.mp4"))
        let first = try h.waitFor("a.mp4 done") { $0.count == 1 && $0[0]["state"]?.string == "done" }
        XCTAssertEqual(first.first?["node"]?.string, "k1", "the worker ran it")
        XCTAssertEqual(Self.lines(logs[0], endingWith: " queued").count, 1, "the watcher queued it")
        XCTAssertEqual(Self.lines(logs[1], endingWith: " queued"), [], "the worker queued something")
        XCTAssertEqual(Self.lines(logs[2], endingWith: " queued"), [], "the standby queued something")

        // reprise nodes: all three, with their roles; the watcher says what it watches.
        var listed: [JSONValue] = []
        XCTAssertTrue(try pollUntil(timeout: 30, every: 0.25) {
            let run = try Reprise.run(["nodes", "--state-dir", h.state.path, "--json"])
            listed = JSONValue.parse(run.output.stdout)?.array ?? []
            return Set(listed.compactMap { $0["name"]?.string }) == ["w1", "k1", "w2"]
                && listed.contains { $0["name"]?.string == "w1" && $0["watching"]?.array?.isEmpty == false }
        }, "nodes listed: \(listed)")
        let roles = Dictionary(uniqueKeysWithValues: listed.map { ($0["name"]?.string ?? "?", $0["role"]?.string ?? "?") })
        XCTAssertEqual(roles, ["w1": "watcher", "k1": "worker", "w2": "watcher"])
        XCTAssertEqual(listed.first { $0["name"]?.string == "w1" }?["watching"]?.array?.compactMap(\.string), [h.watch.path])
        XCTAssertEqual(listed.first { $0["name"]?.string == "w2" }?["watching"]?.array?.compactMap(\.string), [])
        let text = try Reprise.run(["nodes", "--state-dir", h.state.path])
        XCTAssertEqual(text.status, 0, text.transcript)
        XCTAssertTrue(text.output.stdoutText.split(separator: "\n").contains { $0.hasPrefix("k1\tworker\t") }, text.output.stdoutText)

        // The first watcher dies; the standby takes the folder and looks at what is there.
        kill(w1.processIdentifier, SIGKILL)
        w1.waitUntilExit()
        XCTAssertTrue(pollUntil(timeout: 30) { !Self.lines(logs[2], endingWith: " watching").isEmpty }, "the standby did not take over")
        XCTAssertTrue(waitForLog(h, logs[2], "already processed; skipped"), "the standby did not look at a.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: h.watch.appendingPathComponent("b.mp4"))
        let both = try h.waitFor("b.mp4 done") { j in j.count == 2 && j.allSatisfy { $0["state"]?.string == "done" } }
        XCTAssertEqual(Set(both.compactMap { $0["input"]?["path"]?.string }),
                       [h.watch.appendingPathComponent("a.mp4").path, h.watch.appendingPathComponent("b.mp4").path], "each recording once")
        XCTAssertTrue(try pollThroughout(seconds: 1.5) { try h.jobs().count == 2 }, "a recording was queued twice")
        XCTAssertEqual(Self.lines(logs[2], endingWith: " queued").count, 1, "the new watcher queued b.mp4 only")
    }

    /// A worker killed mid-job (kill -9) leaves its job running in the store under a lease nobody
    /// renews; another node's housekeeping re-queues it once the lease is out, another worker
    /// redoes it, and the output is whole, published once, with no staging folder left.
    func testDeadWorkersJobComesBackOnAnotherWorker() throws {
        let h = try Harness("roles-dead-worker")
        h.forms = "transcode:slow"
        h.workers = 1
        h.extraConfig = "lease_seconds: 3\nheartbeat_seconds: 1"
        let logs = ["w", "k1", "k2"].map { h.root.appendingPathComponent("\($0).log") }
        var processes = [try h.launch(["--role", "watcher", "--node", "w"], logFile: logs[0])]
        defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        let k1 = try h.launch(["--role", "worker", "--node", "k1"], logFile: logs[1])
        processes.append(k1)
        try FileManager.default.copyItem(at: try Fixtures.get(.h264MP4).url, to: h.watch.appendingPathComponent("rec.mp4"))
        _ = try h.waitFor("the job running on k1") { $0.first?["state"]?.string == "running" && $0.first?["node"]?.string == "k1" }
        processes.append(try h.launch(["--role", "worker", "--node", "k2"], logFile: logs[2]))
        XCTAssertTrue(waitForLog(h, logs[2], "daemon ready"))
        kill(k1.processIdentifier, SIGKILL)
        k1.waitUntilExit()

        let jobs = try h.waitFor("the job done on k2", timeout: 300) { $0.first?["state"]?.string == "done" }
        XCTAssertEqual(jobs.count, 1)
        XCTAssertEqual(jobs.first?["node"]?.string, "k2")
        XCTAssertEqual(jobs.first?["attempts"]?.int, 2, "the dead worker's attempt counts")
        let output = h.out.appendingPathComponent("rec/rec.slow.mp4")
        XCTAssertEqual(jobs.first?["outputs"]?.array?.compactMap(\.string), [output.path])
        XCTAssertEqual(try FFprobe.frames(output, stream: "v:0").count, FixtureSpec.h264MP4.frameCount)
        XCTAssertEqual(h.outputFiles(), ["rec", "rec/rec.slow.mp4"], "staging or partial files left")
    }

    /// A job's child writes into staging; kill -9 of the daemon mid-job leaves nothing in the output
    /// folder but the staging folder; the next attempt removes it, and the finished job's output is
    /// at its final path, whole, with no staging folder left.
    func testKillNineMidJobLeavesNoPartialOutputAndTheRetryPublishes() throws {
        let h = try Harness("roles-staged")
        h.forms = "transcode:slow"
        h.workers = 1
        try FileManager.default.copyItem(at: try Fixtures.get(.h264MP4).url, to: h.watch.appendingPathComponent("rec.mp4"))
        try h.start()
        defer { h.stop() }
        _ = try h.waitFor("the job running") { $0.first?["state"]?.string == "running" }
        XCTAssertTrue(pollUntil(timeout: 30) { !DaemonTests.processes(mentioning: h.watch.path).isEmpty }, "no job process")
        XCTAssertTrue(pollUntil(timeout: 30) { h.outputFiles().contains { $0.contains(".reprise-staging-") } }, "no staging folder")
        h.stop(SIGKILL)
        pollUntil(timeout: 10) { DaemonTests.processes(mentioning: h.watch.path).isEmpty }
        XCTAssertEqual(DaemonTests.processes(mentioning: h.watch.path), [], "a job outlived the killed daemon: " +
            DaemonTests.processes(mentioning: h.watch.path).map { pid in
                let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
                return ((try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "") + tasks.map { t in
                    ["comm", "wchan", "syscall", "stack"].map { (try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/\($0)", encoding: .utf8)) ?? "-" }.joined(separator: " | ")
                }.joined(separator: "\n")
            }.joined())
        XCTAssertEqual(Self.published(h), ["rec"], "something was published by a killed job")

        let restart = h.logSize
        try h.start()
        let jobs = try h.waitFor("the job done", timeout: 300) { $0.first?["state"]?.string == "done" }
        XCTAssertTrue(h.logText(from: restart).contains("removed what an earlier attempt left in staging"), h.logText(from: restart).suffix(3000).description)
        let output = h.out.appendingPathComponent("rec/rec.slow.mp4")
        XCTAssertEqual(jobs.first?["outputs"]?.array?.compactMap(\.string), [output.path])
        XCTAssertEqual(try FFprobe.frames(output, stream: "v:0").count, FixtureSpec.h264MP4.frameCount)
        XCTAssertEqual(h.outputFiles(), ["rec", "rec/rec.slow.mp4"], "staging or partial files left")
    }
}
