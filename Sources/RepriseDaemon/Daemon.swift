import Foundation
import Glibc
import Logging
import RepriseCore
import RepriseJobs
import RepriseMedia
import RepriseProfiles

/// The watch-folder daemon: finds complete recordings (inotify + quiet period + probe + a
/// periodic rescan), records one durable job per recording × form, runs jobs on a pool of
/// workers as child processes (highest priority first, a free-space check before each, a
/// stall watchdog), and quarantines what can't be processed. Stopping is clean: no new jobs,
/// running children told to stop (they remove their partial outputs), their jobs re-queued.
public final class Daemon: @unchecked Sendable {
    let executable: String
    let logger: Logger
    let store: any JobStore
    /// This process in the store: host + pid.
    let nodeName: String
    private let lock = NSLock()
    private var config: DaemonConfig
    private var configPath: String?
    private var trackers: [String: ArrivalTracker] = [:]
    private var graceUntil: [String: Double] = [:]
    private var reported: Set<String> = []
    private var stopping = false
    private var reloadRequested = false
    private var runners: [Int: JobRunner] = [:]
    private var inotifyFD: Int32 = -1
    private var watchDescriptors: [Int32: String] = [:]
    private var lockFD: Int32 = -1
    /// Held while deciding whether an input goes to quarantine and moving it: two workers may give
    /// up on the same recording at once.
    private let quarantineLock = NSLock()

    public init(config: DaemonConfig, configPath: String?, executable: String, logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.executable = executable
        self.logger = logger
        let fm = FileManager.default
        try fm.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        // Job processes keep recordings' packet indexes in the state folder (not beside the
        // recordings, whose folders may be read-only), unless the environment names a place.
        setenv("REPRISE_CACHE_DIR", (config.stateDirectory as NSString).appendingPathComponent("cache"), 0)
        // One daemon per state folder: a second one would run every job twice.
        lockFD = open((config.stateDirectory as NSString).appendingPathComponent("daemon.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            throw JobStoreError("\(config.stateDirectory): another reprise daemon is using this state folder")
        }
        store = try SQLiteJobStore(path: (config.stateDirectory as NSString).appendingPathComponent("jobs.sqlite"))
        nodeName = "\(ProcessInfo.processInfo.hostName):\(getpid())"
        for w in config.watches {
            for dir in [w.folder, w.output, w.quarantine] + (w.done.map { [$0] } ?? []) {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
        }
    }

    deinit { if lockFD >= 0 { close(lockFD) } }

    public func requestStop() { lock.withLock { stopping = true } }
    public func requestReload() { lock.withLock { reloadRequested = true } }
    var isStopping: Bool { lock.withLock { stopping } }

    /// Runs until `requestStop`. Blocking.
    public func run() {
        // The state folder's lock makes this the only daemon on this store: whatever is left
        // running was a previous run's, so its leases need not be waited out.
        let recovered = (try? store.expireLeases(now: .distantFuture)) ?? 0
        if recovered > 0 { logger.notice("re-queued jobs a previous run left running", metadata: ["jobs": "\(recovered)"]) }
        setUpInotify()
        let workers = (0..<config.workers).map { n -> Thread in
            let t = Thread { [self] in self.workerLoop(n) }
            t.name = "reprise-worker-\(n)"
            t.start()
            return t
        }
        SystemdNotify.send("READY=1\nSTATUS=watching \(config.watches.map(\.folder).joined(separator: ", "))")
        logger.notice("daemon ready", metadata: ["watch": "\(config.watches.map(\.folder))", "workers": "\(config.workers)"])
        var lastRescan = -Double.infinity, lastPing = 0.0, lastCleanup = 0.0
        let ping = SystemdNotify.watchdogInterval.map { $0 / 2 } ?? 10
        while !isStopping {
            let changed = waitForEvents(timeout: 1)
            let now = Date().timeIntervalSince1970
            if lock.withLock({ reloadRequested }) { reload() }
            let full = now - lastRescan >= config.rescanSeconds
            if full { lastRescan = now }
            for w in lock.withLock({ config.watches }) { scan(w, now: now, listing: full || changed.contains(w.folder)) }
            if now - lastPing >= ping { SystemdNotify.send("WATCHDOG=1"); lastPing = now }
            if now - lastCleanup >= 3600 { cleanup(); lastCleanup = now }
        }
        SystemdNotify.send("STOPPING=1")
        logger.notice("stopping: no new jobs; running jobs are told to stop and re-queued")
        lock.withLock { runners.values.forEach { $0.stop(reason: "daemon stopping") } }
        while workers.contains(where: { !$0.isFinished }) { usleep(100_000) }
        if inotifyFD >= 0 { close(inotifyFD) }
        logger.notice("stopped")
    }

    // MARK: finding recordings

    private func setUpInotify() {
        inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotifyFD >= 0 else { logger.warning("inotify unavailable; relying on rescans"); return }
        for w in config.watches { addWatch(w.folder) }
    }

    private func addWatch(_ folder: String) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM)
        let wd = inotify_add_watch(inotifyFD, folder, mask)
        if wd >= 0 { watchDescriptors[wd] = folder } else { logger.warning("can't watch folder", metadata: ["folder": "\(folder)"]) }
    }

    /// Waits up to `timeout` s for inotify events; returns the folders that had any.
    private func waitForEvents(timeout: Double) -> Set<String> {
        guard inotifyFD >= 0 else { usleep(UInt32(timeout * 1_000_000)); return [] }
        var pfd = pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return [] }
        var folders: Set<String> = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(inotifyFD, &buffer, buffer.count)
            if n <= 0 { break }
            var i = 0
            while i + 16 <= n {
                let wd = buffer.withUnsafeBytes { $0.load(fromByteOffset: i, as: Int32.self) }
                let len = Int(buffer.withUnsafeBytes { $0.load(fromByteOffset: i + 12, as: UInt32.self) })
                if let f = watchDescriptors[wd] { folders.insert(f) }
                i += 16 + len
            }
        }
        return folders
    }

    private func scan(_ w: DaemonConfig.Watch, now: Double, listing: Bool) {
        var tracker = lock.withLock { trackers[w.folder] ?? ArrivalTracker(quietSeconds: config.quietSeconds) }
        var names: [String] = []
        if listing {
            names = (try? FileManager.default.contentsOfDirectory(atPath: w.folder)) ?? []
        } else {
            names = tracker.waiting(now: now).map { ($0.path as NSString).lastPathComponent }
        }
        var ready: [String] = []
        for name in names where ArrivalTracker.isCandidate(name: name) {
            let path = (w.folder as NSString).appendingPathComponent(name)
            var st = stat()
            guard lstat(path, &st) == 0 else { tracker.forget(path); continue }
            if (st.st_mode & S_IFMT) == S_IFLNK {
                if reported.insert(path).inserted {
                    logger.warning("symbolic link not followed", metadata: ["input": "\(path)"])
                }
                continue
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let o = ArrivalTracker.Observation(size: Int64(st.st_size),
                                               modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
            // The time of this look, not of the loop's start: a write between the two must not
            // count towards the quiet period.
            if tracker.observe(path, o, now: Date().timeIntervalSince1970) { ready.append(path) }
        }
        for (path, _) in tracker.waiting(now: now) where !FileManager.default.fileExists(atPath: path) { tracker.forget(path) }
        // Files waiting for their sidecars.
        for (path, until) in lock.withLock({ graceUntil }) where until <= now
            && (path as NSString).deletingLastPathComponent == w.folder { ready.append(path) }
        lock.withLock { trackers[w.folder] = tracker }
        for path in ready { admit(path, watch: w, now: now) }
    }

    /// A complete file: probe it, wait for sidecars if highlights want them, then record its jobs.
    private func admit(_ path: String, watch w: DaemonConfig.Watch, now: Double) {
        let wantsSignals = w.forms.contains { $0 == "shorts" || $0 == "highlights" }
        if wantsSignals, !hasSidecar(path) {
            let until = lock.withLock { graceUntil[path] }
            if until == nil {
                lock.withLock { graceUntil[path] = now + config.sidecarGraceSeconds }
                if config.sidecarGraceSeconds > 0 { return }
            } else if let until, until > now { return }
        }
        lock.withLock { graceUntil[path] = nil }
        guard FileManager.default.fileExists(atPath: path) else { return }
        if let problem = probeProblem(path) {
            quarantine(path, watch: w, reason: problem)
            return
        }
        do {
            let identity = try InputIdentity.of(path: path)
            let profiles = try? ProfileLibrary(folders: ProfileLibrary.defaultFolders(extra: config.profileFolders))
            let kinds = w.forms.map { (kind: $0, priority: JobPlan.priority($0, profiles: profiles)) }
            let created = try store.enqueue(identity, watchFolder: w.folder, kinds: kinds)
            if created.isEmpty {
                logger.info("already processed; skipped", metadata: ["input": "\(path)"])
            } else {
                logger.notice("queued", metadata: ["input": "\(path)", "jobs": "\(created.map(\.id))", "forms": "\(created.map(\.kind))"])
            }
        } catch {
            logger.error("can't queue", metadata: ["input": "\(path)", "error": "\(error)"])
            lock.withLock { trackers[w.folder]?.reconsider(path) }
        }
    }

    private func hasSidecar(_ path: String) -> Bool {
        let stem = (path as NSString).deletingPathExtension
        // The names `reprise highlights` looks for beside a recording.
        return [".chat.jsonl", ".chat.json", ".chat.csv", ".chat.xml", ".danmaku.xml", ".xml", ".orders.jsonl", ".orders.json",
                ".orders.csv", ".products.json", ".products.csv"].contains { FileManager.default.fileExists(atPath: stem + $0) }
    }

    /// Why the file can't be a recording, or nil when it opens with a video stream.
    private func probeProblem(_ path: String) -> String? {
        do {
            let d = try Demuxer(path: path)
            guard let v = d.bestVideoStream else { return "has no video stream" }
            guard d.streams[v].width > 0 else { return "its video stream has no picture size" }
            let packet = Packet()
            if case .packet = d.read(into: packet) { return nil }
            return "holds no readable packets"
        } catch let e as MediaError {
            return "not a readable media file (\(e.message))"
        } catch {
            return "\(error)"
        }
    }

    /// Moves the input to the quarantine folder with `NAME.error.txt` saying why. The file itself
    /// is never changed.
    func quarantine(_ path: String, watch w: DaemonConfig.Watch, reason: String, move: Bool = true) {
        let name = (path as NSString).lastPathComponent
        let target = Daemon.freeName(for: name, in: w.quarantine)
        let note = "\(path)\n\(reason)\n\(ISO8601DateFormatter().string(from: Date()))\n"
        try? note.write(toFile: target + ".error.txt", atomically: true, encoding: .utf8)
        if move && !Daemon.moveWithoutReplacing(path, to: target) {
            logger.error("can't move to quarantine; left in place", metadata: ["input": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
        logger.error("quarantined", metadata: ["input": "\(path)", "reason": "\(reason)"])
        lock.withLock { trackers[w.folder]?.forget(path) }
    }

    // MARK: running jobs

    private func workerLoop(_ n: Int) {
        let pid = getpid()
        while !isStopping {
            let claimed: (Job, Claim)?
            do { claimed = try store.claimNext(node: nodeName, pid: pid, lease: Self.leaseSeconds, now: Date()) } catch {
                logger.error("job store", metadata: ["error": "\(error)"])
                sleep(1)
                continue
            }
            guard let (job, claim) = claimed else { usleep(500_000); continue }
            execute(job, claim: claim, worker: n)
        }
    }

    /// A claim's lease; renewed every third of it while the job runs.
    static let leaseSeconds: TimeInterval = 30

    private func execute(_ job: Job, claim: Claim, worker: Int) {
        var log = logger
        log[metadataKey: "job"] = "\(job.id)"
        log[metadataKey: "input"] = "\(job.input.path)"
        log[metadataKey: "form"] = "\(job.kind)"
        let (watch, cfg) = lock.withLock { (config.watches.first { $0.folder == job.watchFolder }, config) }
        guard let watch else {
            _ = try? store.markFailed(claim, error: "watch folder \(job.watchFolder) is no longer configured", maxAttempts: 1, now: Date())
            return
        }
        guard FileManager.default.fileExists(atPath: job.input.path) else {
            _ = try? store.markFailed(claim, error: "\(job.input.path): the input is gone", maxAttempts: 1, now: Date())
            log.error("input gone")
            return
        }
        // Free space first: a clear failure (retried later) instead of a full disk.
        let out = JobPlan.outputFolder(input: job.input.path, watch: watch)
        let needed = JobPlan.spaceNeeded(kind: job.kind, inputSize: job.input.size) + cfg.diskReserve
        if let free = Daemon.freeSpace(near: out), free < needed {
            let message = String(format: "%@: not enough free space (%.1f GB free, %.1f GB needed including the %.1f GB reserve)",
                                 out, Double(free) / 1e9, Double(needed) / 1e9, Double(cfg.diskReserve) / 1e9)
            let after = try? store.markFailed(claim, error: message, maxAttempts: cfg.maxAttempts, now: Date())
            log.error("not started: disk space", metadata: ["error": "\(message)", "state": "\(after?.state.rawValue ?? "-")"])
            quarantineIfOutOfAttempts(after, watch: watch)
            return
        }
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let args = JobPlan.arguments(kind: job.kind, input: job.input.path, watch: watch, profileFolders: cfg.profileFolders)
        log.notice("started", metadata: ["attempt": "\(job.attempts)"])
        let runner = JobRunner()
        lock.withLock { runners[worker] = runner }
        let started = Date()
        let lease = LeaseKeeper(store: store, claim: claim, seconds: Self.leaseSeconds)
        let outcome = runner.run(executable: executable, arguments: args, stallSeconds: cfg.stallSeconds, shouldStop: { [self] in
            if self.isStopping { return "daemon stopping" }
            if (try? store.isCancelled(job.id)) == true { return "cancelled" }
            return lease.keep(now: Date())
        }, onProgress: { _ in })
        lock.withLock { runners[worker] = nil }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        switch outcome {
        case .finished(let result):
            let outputs = Daemon.outputs(fromResult: result)
            do { try store.markDone(claim, outputs: outputs, now: Date()) } catch { log.error("job store", metadata: ["error": "\(error)"]) }
            log.notice("done", metadata: ["seconds": "\(seconds)", "outputs": "\(outputs.count)"])
            moveToDoneIfFinished(job, watch: watch)
        case .stopped(let reason):
            if reason == "daemon stopping" {
                _ = try? store.release(claim)
                log.notice("stopped and re-queued", metadata: ["seconds": "\(seconds)"])
            } else if reason == "cancelled" {
                log.notice("cancelled", metadata: ["seconds": "\(seconds)"])
            } else {
                let after = try? store.markFailed(claim, error: reason, maxAttempts: cfg.maxAttempts, now: Date())
                log.error("stalled; stopped", metadata: ["reason": "\(reason)", "state": "\(after?.state.rawValue ?? "-")"])
                quarantineIfOutOfAttempts(after, watch: watch)
            }
        case .failed(let message):
            // Only an input that is not media at all is quarantined; a read error may be passing.
            let badInput = ["not a readable media file", "has no video stream", "holds no readable video packets"]
                .contains { message.contains($0) }
            if badInput {
                giveUp(on: job, watch: watch, reason: message, quarantiningTheJob: true)
            } else {
                let after = try? store.markFailed(claim, error: message, maxAttempts: cfg.maxAttempts, now: Date())
                log.error("failed", metadata: ["error": "\(message)", "state": "\(after?.state.rawValue ?? "-")", "seconds": "\(seconds)"])
                quarantineIfOutOfAttempts(after, watch: watch)
            }
        }
    }

    /// After a failed attempt: a job out of attempts (state `failed`) gives up on its input, with
    /// its last error as the reason. The job itself stays `failed` (`reprise jobs` shows it so).
    private func quarantineIfOutOfAttempts(_ job: Job?, watch: DaemonConfig.Watch) {
        guard let job, job.state == .failed else { return }
        giveUp(on: job, watch: watch, reason: job.lastError ?? "failed after \(job.attempts) attempts", quarantiningTheJob: false)
    }

    /// A job gave up on its input: a bad input (the job is marked quarantined) or a job out of
    /// attempts. Its queued siblings (the recording's other forms) are quarantined with the same
    /// reason and the input moves to quarantine with `NAME.error.txt` — unless a sibling is still
    /// running: that one keeps reading the file, which then stays where it is (the note is written
    /// anyway). Nothing is done twice: an input another job already moved away is left alone.
    private func giveUp(on job: Job, watch: DaemonConfig.Watch, reason: String, quarantiningTheJob: Bool) {
        quarantineLock.withLock {
            if quarantiningTheJob { try? store.markQuarantined(job.id, reason: reason, now: Date()) }
            let siblings = ((try? store.jobs()) ?? []).filter { $0.input.path == job.input.path && $0.input.hash == job.input.hash && $0.id != job.id }
            for s in siblings where s.state == .queued { try? store.markQuarantined(s.id, reason: reason, now: Date()) }
            guard FileManager.default.fileExists(atPath: job.input.path) else { return }
            quarantine(job.input.path, watch: watch, reason: reason, move: !siblings.contains { $0.state == .running })
        }
    }

    /// Output files a child's result names ("output", "master", "path", "timeline" fields).
    static func outputs(fromResult line: String) -> [String] {
        guard let data = line.data(using: .utf8), let value = try? JSONSerialization.jsonObject(with: data) else { return [] }
        var found: [String] = []
        func walk(_ v: Any, key: String?) {
            if let d = v as? [String: Any] { for (k, x) in d { walk(x, key: k) } }
            else if let a = v as? [Any] { a.forEach { walk($0, key: key) } }
            else if let s = v as? String, ["output", "master", "path", "timeline", "covers", "metadata"].contains(key ?? ""),
                    s.hasPrefix("/"), FileManager.default.fileExists(atPath: s) { found.append(s) }
        }
        walk(value, key: nil)
        return Array(Set(found)).sorted()
    }

    private func moveToDoneIfFinished(_ job: Job, watch: DaemonConfig.Watch) {
        guard let done = watch.done else { return }
        let siblings = (try? store.jobs()) ?? []
        let mine = siblings.filter { $0.input.path == job.input.path && $0.input.hash == job.input.hash }
        guard !mine.isEmpty, mine.allSatisfy({ $0.state == .done }) else { return }
        let target = Daemon.freeName(for: (job.input.path as NSString).lastPathComponent, in: done)
        if Daemon.moveWithoutReplacing(job.input.path, to: target) {
            logger.notice("moved to the done folder", metadata: ["input": "\(job.input.path)", "to": "\(target)"])
        }
    }

    /// `folder/name`, or `folder/name-2.ext`, `-3`… when taken: a second `live.mp4` must never
    /// replace the first.
    static func freeName(for name: String, in folder: String) -> String {
        let ext = (name as NSString).pathExtension, stem = (name as NSString).deletingPathExtension
        var candidate = (folder as NSString).appendingPathComponent(name)
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) || FileManager.default.fileExists(atPath: candidate + ".error.txt") {
            candidate = (folder as NSString).appendingPathComponent(ext.isEmpty ? "\(stem)-\(n)" : "\(stem)-\(n).\(ext)")
            n += 1
        }
        return candidate
    }

    /// Moves a file, never replacing one (link then unlink on one filesystem).
    static func moveWithoutReplacing(_ from: String, to: String) -> Bool {
        AtomicPublish.moveWithoutReplacing(from, to: to)
    }

    static func freeSpace(near path: String) -> Int64? {
        var dir = path
        while !FileManager.default.fileExists(atPath: dir), dir != "/" { dir = (dir as NSString).deletingLastPathComponent }
        var s = statvfs()
        guard statvfs(dir, &s) == 0 else { return nil }
        if let fake = ProcessInfo.processInfo.environment["REPRISE_FAKE_FREE_BYTES"].flatMap(Int64.init) { return fake }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    // MARK: housekeeping

    private func reload() {
        lock.withLock { reloadRequested = false }
        guard let configPath else { logger.notice("SIGHUP: no config file to reload (quick-start mode)"); return }
        do {
            let fresh = try DaemonConfigLoader.load(path: configPath)
            for w in fresh.watches {
                for dir in [w.folder, w.output, w.quarantine] { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            }
            lock.withLock { config = fresh }
            for w in fresh.watches where !watchDescriptors.values.contains(w.folder) { addWatch(w.folder) }
            logger.notice("configuration reloaded", metadata: ["config": "\(configPath)"])
        } catch {
            logger.error("configuration not reloaded; keeping the old one", metadata: ["error": "\(error)"])
        }
    }

    private func cleanup() {
        let days = lock.withLock { config.retentionDays }
        if let removed = try? store.removeFinished(olderThan: Date().addingTimeInterval(-days * 86400)), removed > 0 {
            logger.info("old finished jobs dropped from the store", metadata: ["jobs": "\(removed)"])
        }
    }
}
