import Foundation
import XCTest
@testable import RepriseDaemon
@testable import RepriseProfiles

/// The watch-folder daemon as a real process on temporary folders: arrival detection, jobs done
/// once, kill -9 and SIGTERM, bad inputs, odd names, symlinks, no space. Jobs use a tiny profile
/// so that many of them fit in a test.
final class DaemonTests: XCTestCase {
    // MARK: pure parts

    func testArrivalNeedsAQuietPeriodAndIgnoresTemporaryNames() {
        var t = ArrivalTracker(quietSeconds: 5)
        let a = ArrivalTracker.Observation(size: 100, modified: 1), b = ArrivalTracker.Observation(size: 200, modified: 2)
        XCTAssertFalse(t.observe("/w/x.mp4", a, now: 0))
        XCTAssertFalse(t.observe("/w/x.mp4", a, now: 4.9))
        XCTAssertFalse(t.observe("/w/x.mp4", b, now: 5), "grew: still being written")
        XCTAssertFalse(t.observe("/w/x.mp4", b, now: 9.9))
        XCTAssertTrue(t.observe("/w/x.mp4", b, now: 10), "quiet for 5 s")
        XCTAssertFalse(t.observe("/w/x.mp4", b, now: 20), "handed once")
        for name in [".x.mp4", "x.mp4.part", "x.mp4.tmp", "x.mp4~", "x.txt", "x.crdownload", "notes.json"] {
            XCTAssertFalse(ArrivalTracker.isCandidate(name: name), name)
        }
        for name in ["x.mp4", "直播 回放.FLV", "-rec.ts", "a b.mkv"] { XCTAssertTrue(ArrivalTracker.isCandidate(name: name), name) }
    }

    func testJobPlansPutShortsFirstAndUseAbsolutePaths() throws {
        let library = try ProfileLibrary(folders: [ProfileFolder.shipped.path])
        XCTAssertEqual(JobPlan.priority("shorts", profiles: library), 0)
        XCTAssertEqual(JobPlan.priority("transcode:vertical-short", profiles: library), 0, "a short profile (max 180 s)")
        XCTAssertLessThan(JobPlan.priority("highlights", profiles: library), JobPlan.priority("transcode:long-form", profiles: library))
        XCTAssertLessThan(JobPlan.priority("transcode:long-form", profiles: library), JobPlan.priority("ladder:default", profiles: library))
        let w = DaemonConfig.Watch(folder: "/in", output: "/out", forms: [], quarantine: "/q")
        let args = JobPlan.arguments(kind: "ladder:overseas", input: "/in/-odd name.mp4", watch: w, profileFolders: [])
        XCTAssertEqual(args, ["ladder", "/in/-odd name.mp4", "-o", "/out/-odd name/hls-overseas", "--ladder", "overseas", "--json"])
    }

    func testBadConfigNamesFileLineAndField() throws {
        let folder = ScratchSpace.makeFolder("config")
        let path = folder.appendingPathComponent("reprise.yaml").path
        try "workers: 2\nwatch:\n  - folder: /in\n    output: /out\n    forms: [shorts, transcode]\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DaemonConfigLoader.load(path: path)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(path):5: watch[0].forms: 'transcode' is not one of"), "\(e)")
        }
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/reprise.yaml").path
        let config = try DaemonConfigLoader.load(path: shipped)
        XCTAssertEqual(config.watches.first?.forms.first, "shorts")
        XCTAssertEqual(config.diskReserve, 2_000_000_000)
    }

    // MARK: a real daemon

    static let tinyProfile = """
        name: tiny
        video: {width: 160, height: 120, fit: pad, quality: 30, encoder_options: {preset: ultrafast}}
        audio: {bitrate: 32k}
        """
    /// Seconds per job, so that a job is surely running when the daemon is killed.
    static let slowProfile = """
        name: slow
        video: {width: 640, height: 480, fit: pad, upscale: true, quality: 20, encoder_options: {preset: slower}}
        audio: {bitrate: 64k}
        """

    /// A daemon on fresh folders: W (watch), O (output), S (state), P (profiles).
    final class Harness {
        let root: URL
        var watch: URL { root.appendingPathComponent("in") }
        var out: URL { root.appendingPathComponent("out") }
        var state: URL { root.appendingPathComponent("state") }
        var profiles: URL { root.appendingPathComponent("profiles") }
        var process: Process?
        let log: URL
        var forms = "transcode:tiny"
        var environment: [String: String] = [:]
        var workers = 2
        /// The daemon's quiet period (seconds).
        var quietSeconds = 1
        /// When set, the daemon runs from a config file (`max_attempts` has no command-line flag).
        var maxAttempts: Int?
        /// More top-level settings (YAML lines); when set, the daemon runs from a config file.
        var extraConfig = ""
        var quarantine: URL { watch.appendingPathComponent(".quarantine") }

        init(_ name: String) throws {
            root = ScratchSpace.makeFolder(name)
            log = root.appendingPathComponent("daemon.log")
            for d in [watch, out, profiles] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
            try DaemonTests.tinyProfile.write(to: profiles.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
            try DaemonTests.slowProfile.write(to: profiles.appendingPathComponent("slow.yaml"), atomically: true, encoding: .utf8)
        }

        func start() throws { process = try launch() }

        /// Starts a daemon on these folders with `extra` arguments (e.g. --role, --node), logging to
        /// `logFile` (default: the harness's log).
        func launch(_ extra: [String] = [], logFile: URL? = nil) throws -> Process {
            let p = Process()
            p.executableURL = Reprise.binary
            p.arguments = ["daemon", "--watch", watch.path, "--out", out.path, "--state-dir", state.path, "--forms", forms,
                           "--quiet", String(quietSeconds), "--workers", String(workers), "--profile-dir", profiles.path]
            if maxAttempts != nil || !extraConfig.isEmpty {
                // The same settings as the quick-start flags above, plus max_attempts.
                let config = root.appendingPathComponent("reprise.yaml")
                let list = forms.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ", ")
                try """
                    state_dir: "\(state.path)"
                    workers: \(workers)
                    quiet_seconds: \(quietSeconds)
                    sidecar_grace_seconds: 3
                    max_attempts: \(maxAttempts ?? 3)
                    \(extraConfig)
                    profile_dirs: ["\(profiles.path)"]
                    watch:
                      - folder: "\(watch.path)"
                        output: "\(out.path)"
                        quarantine: "\(quarantine.path)"
                        forms: [\(list)]
                    """.write(to: config, atomically: true, encoding: .utf8)
                p.arguments = ["daemon", "--config", config.path]
            }
            p.arguments! += extra
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            p.environment = env
            let log = logFile ?? self.log
            if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            return p
        }

        /// SIGTERM (or SIGKILL) and wait; returns the exit status.
        @discardableResult
        func stop(_ signal: Int32 = SIGTERM, timeout: TimeInterval = 60) -> Int32? {
            guard let p = process else { return nil }
            kill(p.processIdentifier, signal)
            pollUntil(timeout: timeout) { !p.isRunning }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit(); return nil }
            process = nil
            return p.terminationStatus
        }

        func jobs() throws -> [JSONValue] {
            let run = try Reprise.run(["jobs", "list", "--state-dir", state.path, "--json"])
            guard run.status == 0 else { return [] }
            return JSONValue.parse(run.output.stdout)?.array ?? []
        }

        /// Polls the job list until `predicate(jobs)` holds; fails after `timeout`.
        func waitFor(_ what: String, timeout: TimeInterval = 120, _ predicate: ([JSONValue]) -> Bool) throws -> [JSONValue] {
            var last: [JSONValue] = []
            if try pollUntil(timeout: timeout, every: 0.25, { last = try jobs(); return predicate(last) }) { return last }
            XCTFail("timed out waiting for \(what); jobs: \(last.map { "\($0["id"]?.int ?? -1) \($0["state"]?.string ?? "?")" }); log tail:\n\(logText().suffix(3000))")
            return last
        }

        /// The daemon's log (both runs' when restarted), from byte `offset`.
        func logText(from offset: Int = 0) -> String {
            let data = (try? Data(contentsOf: log)) ?? Data()
            return String(decoding: data.dropFirst(offset), as: UTF8.self)
        }

        /// The log's size now: where the next run's lines start.
        var logSize: Int { ((try? Data(contentsOf: log)) ?? Data()).count }

        /// Polls until `file` exists in the output or quarantine folder; fails after `timeout`.
        @discardableResult
        func waitForFile(_ file: URL, timeout: TimeInterval = 30) -> Bool {
            let found = pollUntil(timeout: timeout) { FileManager.default.fileExists(atPath: file.path) }
            if !found { XCTFail("timed out waiting for \(file.path); log tail:\n\(logText().suffix(3000))") }
            return found
        }

        /// Every file under the output folder, hidden ones included (partial files would show).
        func outputFiles() -> [String] {
            let e = FileManager.default.enumerator(atPath: out.path)
            var files: [String] = []
            while let f = e?.nextObject() as? String { files.append(f) }
            return files.sorted()
        }
    }

    /// Live processes whose command line mentions `text` (read from /proc).
    static func processes(mentioning text: String) -> [Int32] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard pid != me, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let cmd = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return cmd.contains(text) && cmd.contains("reprise") && !cmd.contains(" daemon ")
        }
    }

    static func states(_ jobs: [JSONValue]) -> [String: Int] {
        jobs.reduce(into: [:]) { $0[$1["state"]?.string ?? "?", default: 0] += 1 }
    }

    func copyFixture(_ spec: FixtureSpec, to url: URL) throws {
        try FileManager.default.copyItem(at: try Fixtures.get(spec).url, to: url)
    }

    static let tinySpec = FixtureSpec(seconds: 1, width: 160, height: 120)

    /// A recording copied in slowly (chunks over ~4 s) gets no job before it is complete and quiet;
    /// then one, and the output holds every frame.
    func testSlowlyWrittenFileWaitsUntilComplete() throws {
        let h = try Harness("daemon-slow")
        // Longer than the gap between two chunks even on a loaded machine (each gap also runs
        // `reprise jobs` several times), so that only the real end of writing is quiet.
        h.quietSeconds = 3
        try h.start()
        defer { h.stop() }
        let source = try Data(contentsOf: try Fixtures.get(.h264MP4).url)
        let target = h.watch.appendingPathComponent("slow.mp4")
        FileManager.default.createFile(atPath: target.path, contents: nil)
        let writer = try FileHandle(forWritingTo: target)
        let chunks = 8
        var lastWrite = Date()
        for n in 0..<chunks {
            let part = source[(source.count * n / chunks)..<(source.count * (n + 1) / chunks)]
            writer.write(part)
            lastWrite = Date()
            // The next chunk comes 0.5 s later; no job may appear meanwhile.
            XCTAssertTrue(try pollThroughout(seconds: 0.5, every: 0.1) { try h.jobs().isEmpty },
                          "a job started while the file was being written (chunk \(n))")
        }
        try writer.close()
        let jobs = try h.waitFor("the slow file's job") { $0.count == 1 && $0[0]["state"]?.string == "done" }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try XCTUnwrap(jobs.first?["startedAt"]?.string.flatMap { iso.date(from: $0) }, "startedAt with milliseconds")
        XCTAssertGreaterThanOrEqual(started.timeIntervalSince(lastWrite), Double(h.quietSeconds) - 0.05,
                                    "started before the quiet period after the last write")
        let output = h.out.appendingPathComponent("slow/slow.tiny.mp4")
        let frames = try FFprobe.frames(output, stream: "v:0").count
        XCTAssertEqual(frames, FixtureSpec.h264MP4.frameCount)
    }

    /// 100 recordings dropped at once (odd names among them) give 100 jobs, each done exactly once;
    /// a restart does not queue them again; a non-media file, a truncated recording and a symlink
    /// to a file outside the folder are not processed (the first two quarantined with reasons).
    func testHundredFilesOnceEachAndBadInputsQuarantined() throws {
        let h = try Harness("daemon-many")
        let odd = ["with space.mp4", "line\nbreak.mp4", "-leading.mp4", "直播回放.mp4"]
        let names = odd + (0..<(100 - odd.count)).map { String(format: "rec-%03d.mp4", $0) }
        let staging = h.root.appendingPathComponent("staging")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for name in names { try copyFixture(Self.tinySpec, to: staging.appendingPathComponent(name)) }
        try Data("not a video\n".utf8).write(to: staging.appendingPathComponent("notes.mp4"))
        let good = try Data(contentsOf: try Fixtures.get(.h264MP4).url)
        try good.prefix(good.count / 3).write(to: staging.appendingPathComponent("truncated.mp4"))
        let outside = h.root.appendingPathComponent("elsewhere.mp4")
        try copyFixture(Self.tinySpec, to: outside)
        try FileManager.default.createSymbolicLink(at: h.watch.appendingPathComponent("link.mp4"), withDestinationURL: outside)
        // Dropped at once: renamed in (as an ingest server does).
        for name in names + ["notes.mp4", "truncated.mp4"] {
            try FileManager.default.moveItem(at: staging.appendingPathComponent(name), to: h.watch.appendingPathComponent(name))
        }
        try h.start()
        let jobs = try h.waitFor("100 jobs done", timeout: 300) { j in
            Self.states(j)["done"] == 100 && (Self.states(j)["queued"] ?? 0) + (Self.states(j)["running"] ?? 0) == 0
        }
        let inputs = jobs.filter { $0["state"]?.string == "done" }.compactMap { $0["input"]?["path"]?.string }
        XCTAssertEqual(Set(inputs).count, 100, "every recording once")
        for name in names {
            let base = (name as NSString).deletingPathExtension
            let output = h.out.appendingPathComponent(base).appendingPathComponent("\(base).tiny.mp4")
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.path), "no output for \(name.debugDescription)")
        }
        XCTAssertFalse(inputs.contains { $0.hasSuffix("link.mp4") || $0.hasSuffix("elsewhere.mp4") }, "the symlink was followed")
        // Bad inputs: in quarantine with a reason, never in the job list as done.
        let quarantine = h.quarantine
        for bad in ["notes.mp4", "truncated.mp4"] {
            h.waitForFile(quarantine.appendingPathComponent(bad + ".error.txt"))
            let reason = (try? String(contentsOf: quarantine.appendingPathComponent(bad + ".error.txt"), encoding: .utf8)) ?? ""
            XCTAssertTrue(reason.contains(bad), "\(bad): the reason names the file: \(reason)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: quarantine.appendingPathComponent(bad).path), "\(bad) not moved to quarantine")
        }
        XCTAssertEqual(h.stop(), 0, "SIGTERM while idle: clean exit")
        // A restart sees the same files (unchanged): nothing new is queued. It has looked at every
        // one once it has logged each as already processed.
        let restartLog = h.logSize
        try h.start()
        let skipped = "already processed; skipped"
        XCTAssertTrue(pollUntil(timeout: 60) { h.logText(from: restartLog).components(separatedBy: skipped).count - 1 >= names.count },
                      "the restarted daemon did not look at every recording: \(h.logText(from: restartLog).suffix(3000))")
        XCTAssertEqual(h.logText(from: restartLog).components(separatedBy: skipped).count - 1, names.count,
                       "each recording looked at once after the restart")
        XCTAssertEqual(try h.jobs().count, 100, "a restart queued already-processed recordings again")
        h.stop()
        XCTAssertEqual(h.outputFiles().filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }, [], "hidden (partial) files left")
    }

    /// kill -9 while jobs run, then a restart: every job completes once, no output is partial;
    /// SIGTERM while a job runs exits cleanly and the job is re-queued and finished by the next start.
    func testKillNineAndSIGTERMLoseNothing() throws {
        let h = try Harness("daemon-kill")
        h.forms = "transcode:tiny,transcode:slow"
        h.workers = 1
        for n in 0..<4 { try copyFixture(.h264MP4, to: h.watch.appendingPathComponent("rec-\(n).mp4")) }
        try h.start()
        // A slow job (seconds long) is surely still running when the daemon is killed: its job
        // process is up.
        _ = try h.waitFor("a slow job running") { $0.contains { $0["state"]?.string == "running" && $0["kind"]?.string == "transcode:slow" } }
        XCTAssertTrue(pollUntil(timeout: 30) { !Self.processes(mentioning: h.watch.path).isEmpty }, "no job process")
        h.stop(SIGKILL)
        let interrupted = try h.jobs()
        XCTAssertTrue(interrupted.contains { $0["state"]?.string == "running" }, "the killed daemon's job is still marked running")
        // The killed daemon's child is gone too (it must not keep writing).
        // Its job processes get SIGTERM from the kernel and remove their partial files first.
        pollUntil(timeout: 10) { Self.processes(mentioning: h.watch.path).isEmpty }
        XCTAssertEqual(Self.processes(mentioning: h.watch.path), [], "a job outlived the killed daemon")

        try h.start()
        _ = try h.waitFor("a slow job running again") { $0.contains { $0["state"]?.string == "running" && $0["kind"]?.string == "transcode:slow" } }
        XCTAssertTrue(pollUntil(timeout: 30) { !Self.processes(mentioning: h.watch.path).isEmpty }, "no job process")
        XCTAssertEqual(h.stop(SIGTERM), 0, "SIGTERM while busy: clean exit")
        let afterTerm = try h.jobs()
        XCTAssertFalse(afterTerm.contains { $0["state"]?.string == "running" }, "SIGTERM left a job marked running")
        XCTAssertEqual(h.outputFiles().filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }, [], "partial files after SIGTERM")

        try h.start()
        let jobs = try h.waitFor("all 8 jobs done", timeout: 300) { Self.states($0)["done"] == 8 }
        h.stop()
        XCTAssertEqual(jobs.count, 8, "one job per recording × form")
        for j in jobs {
            // Each transcode job publishes exactly its one file, and it is whole.
            let outputs = j["outputs"]?.array?.compactMap(\.string) ?? []
            XCTAssertEqual(outputs.count, 1, "job \(j["id"]?.int ?? -1) (\(j["kind"]?.string ?? "?")): outputs \(outputs)")
            for path in outputs {
                XCTAssertTrue(path.hasSuffix(".mp4"), path)
                let frames = try FFprobe.frames(URL(fileURLWithPath: path), stream: "v:0").count
                XCTAssertEqual(frames, FixtureSpec.h264MP4.frameCount, "\(path): partial output")
            }
        }
        XCTAssertEqual(h.outputFiles().filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }, [], "partial files left")
    }

    /// A recording whose job fails every attempt: while attempts remain it stays in the watch folder
    /// (the job queued again with its error); once the last one fails it goes to quarantine, unchanged,
    /// with the job's last error as the reason; the job stays failed (as `reprise jobs` shows), and
    /// the recording's other form, still queued for a later attempt, is quarantined with it.
    ///
    /// The recording is video in a codec this FFmpeg can't decode (a sample entry it doesn't know,
    /// as from an exotic encoder): it probes fine — a video stream with a picture size and readable
    /// packets — and every attempt fails when it comes to decoding.
    func testInputQuarantinedWhenAJobFailsItsLastAttempt() throws {
        let h = try Harness("daemon-exhausted")
        h.workers = 1
        h.maxAttempts = 2
        h.forms = "transcode:tiny,transcode:slow"
        let input = h.watch.appendingPathComponent("rec.mp4")
        // The H.264 fixture with its sample entry (and brand) renamed from avc1 to an unknown code.
        var bytes = [UInt8](try Data(contentsOf: try Fixtures.get(Self.tinySpec).url))
        let avc1 = Array("avc1".utf8)
        var renamed = 0
        for i in 0...(bytes.count - 4) where bytes[i..<(i + 4)].elementsEqual(avc1) {
            bytes.replaceSubrange(i..<(i + 4), with: Array("zzzz".utf8))
            renamed += 1
        }
        XCTAssertGreaterThan(renamed, 0, "no avc1 sample entry to rename")
        let original = Data(bytes)
        try original.write(to: input)
        try h.start()
        defer { h.stop() }
        func job(_ jobs: [JSONValue], _ kind: String) -> JSONValue? { jobs.first { $0["kind"]?.string == kind } }

        // First attempts failed, second ones not yet made (30 s backoff): the input is still there.
        let first = try h.waitFor("a failed first attempt of both forms") { j in
            j.count == 2 && j.allSatisfy { $0["state"]?.string == "queued" && $0["attempts"]?.int == 1 && $0["lastError"]?.string != nil }
        }
        XCTAssertEqual(first.count, 2, "one job per form")
        XCTAssertTrue(FileManager.default.fileExists(atPath: input.path), "quarantined while attempts remained")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.quarantine.path), [], "quarantine before the last attempt")

        // The operator doesn't wait out the backoff: `reprise jobs retry` on a queued job drops it
        // (attempts kept), so the tiny form's last attempt runs now; the slow form keeps waiting.
        let tinyID = try XCTUnwrap(job(first, "transcode:tiny")?["id"]?.int)
        let retried = try Reprise.run(["jobs", "retry", String(tinyID), "--state-dir", h.state.path])
        XCTAssertEqual(retried.status, 0, retried.transcript)

        // The last attempt of the first form (tiny) fails: out of attempts.
        let jobs = try h.waitFor("the job out of attempts", timeout: 180) { job($0, "transcode:tiny")?["state"]?.string == "failed" }
        let failed = try XCTUnwrap(job(jobs, "transcode:tiny"))
        XCTAssertEqual(failed["attempts"]?.int, 2, "every attempt made")
        let error = try XCTUnwrap(failed["lastError"]?.string, "the failed job has its error")
        XCTAssertTrue(error.contains("decoder"), "the reason says what failed: \(error)")

        // The input: in quarantine, unchanged, with the job's last error as the reason.
        let moved = h.quarantine.appendingPathComponent("rec.mp4")
        let note = h.quarantine.appendingPathComponent("rec.mp4.error.txt")
        h.waitForFile(note)
        XCTAssertTrue(pollUntil(timeout: 10) { !FileManager.default.fileExists(atPath: input.path) }, "the input stayed in the watch folder")
        XCTAssertEqual(try? Data(contentsOf: moved), original, "the quarantined file is not the input, unchanged")
        let reason = try String(contentsOf: note, encoding: .utf8)
        XCTAssertTrue(reason.contains(input.path), "the note names the input: \(reason)")
        XCTAssertTrue(reason.contains(error), "the note gives the job's last error (\(error)): \(reason)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.quarantine.path).sorted(), ["rec.mp4", "rec.mp4.error.txt"])

        // The other form, queued for its second attempt, is quarantined with the same reason.
        let after = try h.waitFor("the other form quarantined") { job($0, "transcode:slow")?["state"]?.string == "quarantined" }
        XCTAssertEqual(after.count, 2)
        XCTAssertEqual(job(after, "transcode:slow")?["attempts"]?.int, 1, "quarantined before its last attempt")
        XCTAssertEqual(job(after, "transcode:slow")?["lastError"]?.string, error)
        XCTAssertEqual(job(after, "transcode:tiny")?["state"]?.string, "failed", "the job out of attempts stays failed")

        // `reprise jobs` (the operator's view) shows the job failed, with its attempts and error.
        let list = try Reprise.run(["jobs", "--state-dir", h.state.path])
        XCTAssertEqual(list.status, 0, list.transcript)
        let lines = list.output.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, list.output.stdoutText)
        let id = try XCTUnwrap(failed["id"]?.int)
        let node = try XCTUnwrap(failed["node"]?.string, "the job names the node that ran it")
        XCTAssertTrue(lines.contains("\(id)\tfailed\ttranscode:tiny\trec.mp4\tattempts 2\ton \(node)\t\(error)"), list.output.stdoutText)
        let failedOnly = try Reprise.run(["jobs", "list", "--state-dir", h.state.path, "--state", "failed", "--json"])
        XCTAssertEqual(JSONValue.parse(failedOnly.output.stdout)?.array?.compactMap { $0["id"]?.int }, [id])
        XCTAssertEqual(h.outputFiles().filter { $0.hasSuffix(".mp4") }, [], "output (or partial output) from a failed job")
    }

    /// No room on the output filesystem: the job fails with a clear reason, writes nothing, and the
    /// source is untouched.
    func testNoSpaceFailsClearlyAndKeepsTheSource() throws {
        let h = try Harness("daemon-nospace")
        h.environment["REPRISE_FAKE_FREE_BYTES"] = "1000"
        let input = h.watch.appendingPathComponent("rec.mp4")
        try copyFixture(Self.tinySpec, to: input)
        let before = try Data(contentsOf: input)
        try h.start()
        defer { h.stop() }
        let jobs = try h.waitFor("a failed attempt") { $0.first?["lastError"]?.string != nil }
        let error = jobs.first?["lastError"]?.string ?? ""
        XCTAssertTrue(error.contains("not enough free space"), error)
        XCTAssertEqual(try Data(contentsOf: input), before, "the source changed")
        XCTAssertEqual(h.outputFiles().filter { $0.hasSuffix(".mp4") }, [], "output written without space")
    }
}
