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
///
/// One process is one node of a possibly larger cluster on one store: its role says whether it
/// watches (one watcher per folder, by the store's watch hold; others stand by), works (claims
/// jobs under a lease, publishes only while the claim holds), or both. Paths in the configuration
/// and the store are canonical; `path_map` says where this node mounts them.
public final class Daemon: @unchecked Sendable {
    let executable: String
    let logger: Logger
    let store: any JobStore
    let storeSpec: StoreSpec
    /// This process in the store: `node:` from the configuration, else host:pid.
    let nodeName: String
    let role: DaemonConfig.Role
    private let startedAt = Date()
    private let lock = NSLock()
    private var config: DaemonConfig
    private var configPath: String?
    private var trackers: [String: ArrivalTracker] = [:]
    private var graceUntil: [String: Double] = [:]
    private var reported: Set<String> = []
    private var stopping = false
    private var reloadRequested = false
    private var runners: [Int: JobRunner] = [:]
    /// Job ids the workers run now (worker number → job), for the heartbeat.
    private var runningJobs: [Int: Int64] = [:]
    /// Watch folders (canonical) this node holds the watcher role for.
    private var holds: [String: any WatchHold] = [:]
    /// When each folder not held was last asked for, and whether its standby was logged.
    private var holdAskedAt: [String: Date] = [:]
    private var standbyLogged: Set<String> = []
    /// Folders just taken: listed in full at the next scan.
    private var freshlyHeld: Set<String> = []
    private var inotifyFD: Int32 = -1
    private var watchDescriptors: [Int32: String] = [:]
    private var lockFD: Int32 = -1
    /// This daemon is the only one on its store (role all on SQLite, the store's lock held
    /// exclusively): what is left running at start was a previous run's.
    let isSoleDaemon: Bool
    /// This node's running jobs' progress, for the console.
    public let progress = JobProgressBoard()
    /// The job store this daemon uses (the console reads it and sends retries and cancels to it).
    public var jobStore: any JobStore { store }
    /// Held while deciding whether an input goes to quarantine and moving it: two workers may give
    /// up on the same recording at once.
    private let quarantineLock = NSLock()

    public init(config: DaemonConfig, configPath: String?, executable: String, logger: Logger,
                opener: StoreOpener) throws {
        self.config = config
        self.configPath = configPath
        self.executable = executable
        self.logger = logger
        self.role = config.role
        let fm = FileManager.default
        try fm.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        // Job processes keep recordings' packet indexes in the state folder (not beside the
        // recordings, whose folders may be read-only), unless the environment names a place.
        setenv("REPRISE_CACHE_DIR", (config.stateDirectory as NSString).appendingPathComponent("cache"), 0)
        storeSpec = try StoreSpec.parse(config.store, stateDirectory: config.stateDirectory)
        if case .sqlite(let path) = storeSpec {
            // One role-all daemon per SQLite store: it recovers every running job at start, and a
            // second one would run every job twice. Worker and watcher nodes may share a store
            // (SQLite serialises writers across processes; leases and watch holds do the rest),
            // but never with a role-all daemon: they take the lock shared, it takes it exclusively.
            let folder = (path as NSString).deletingLastPathComponent
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            lockFD = open((folder as NSString).appendingPathComponent("daemon.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            let exclusive = config.role == .all
            guard lockFD >= 0, flock(lockFD, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
                throw JobStoreError(exclusive
                    ? "\(folder): another reprise daemon is using this state folder"
                    : "\(folder): a reprise daemon with role all is using this state folder (worker and watcher nodes share a store only with each other)")
            }
            isSoleDaemon = exclusive
        } else {
            isSoleDaemon = false
        }
        store = try opener.open(storeSpec)
        nodeName = config.node ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        for w in config.watches.map({ Daemon.local($0, config.pathMap) }) {
            for dir in [w.folder, w.output, w.quarantine] + (w.done.map { [$0] } ?? []) {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
        }
    }

    deinit { if lockFD >= 0 { close(lockFD) } }

    public func requestStop() { lock.withLock { stopping = true } }
    public func requestReload() { lock.withLock { reloadRequested = true } }
    var isStopping: Bool { lock.withLock { stopping } }

    /// A watch with every path where this node finds it.
    public static func local(_ w: DaemonConfig.Watch, _ map: PathMap) -> DaemonConfig.Watch {
        var l = w
        l.folder = map.local(w.folder); l.output = map.local(w.output); l.quarantine = map.local(w.quarantine)
        l.done = w.done.map(map.local)
        return l
    }

    /// Runs until `requestStop`. Blocking.
    public func run() {
        if isSoleDaemon {
            // The only daemon on this store: whatever is left running was a previous run's, so its
            // leases need not be waited out. Anywhere else, leases expire on their own.
            let recovered = (try? store.expireLeases(now: .distantFuture, maxAttempts: config.maxAttempts)) ?? 0
            if recovered > 0 { logger.notice("re-queued jobs a previous run left running", metadata: ["jobs": "\(recovered)"]) }
        }
        if role.watches {
            setUpInotify()
            // Before the first heartbeat, so that it already names the folders held.
            updateHolds(now: Date())
        }
        let beat = NodeBeat(store: store, heartbeatSeconds: config.heartbeatSeconds, leaseSeconds: config.leaseSeconds,
                            maxAttempts: config.maxAttempts, logger: logger) { [self] now in nodeStatus(now: now) }
        beat.start()
        let workers = (0..<(role.works ? config.workers : 0)).map { n -> Thread in
            let t = Thread { [self] in self.workerLoop(n) }
            t.name = "reprise-worker-\(n)"
            t.start()
            return t
        }
        let watched = lock.withLock { holds.keys.sorted() }
        SystemdNotify.send("READY=1\nSTATUS=\(role.rawValue) node \(nodeName)\(watched.isEmpty ? "" : ", watching \(watched.joined(separator: ", "))")")
        logger.notice("daemon ready", metadata: ["node": "\(nodeName)", "role": "\(role.rawValue)", "store": "\(store.location)",
                                                 "watch": "\(watched)", "workers": "\(workers.count)"])
        var lastRescan = -Double.infinity, lastPing = 0.0, lastCleanup = 0.0
        let ping = SystemdNotify.watchdogInterval.map { $0 / 2 } ?? 10
        while !isStopping {
            let changed = waitForEvents(timeout: 1)
            let now = Date().timeIntervalSince1970
            if lock.withLock({ reloadRequested }) { reload() }
            if role.watches {
                updateHolds(now: Date())
                let full = now - lastRescan >= config.rescanSeconds
                if full { lastRescan = now }
                let (watches, held, fresh) = lock.withLock { () -> ([DaemonConfig.Watch], Set<String>, Set<String>) in
                    defer { freshlyHeld = [] }
                    return (config.watches, Set(holds.keys), freshlyHeld)
                }
                for w in watches where held.contains(w.folder) {
                    scan(w, now: now, listing: full || fresh.contains(w.folder) || changed.contains(w.folder))
                }
            }
            if now - lastPing >= ping { SystemdNotify.send("WATCHDOG=1"); lastPing = now }
            if now - lastCleanup >= 3600 { cleanup(); lastCleanup = now }
        }
        SystemdNotify.send("STOPPING=1")
        logger.notice("stopping: no new jobs; running jobs are told to stop and re-queued")
        lock.withLock { runners.values.forEach { $0.stop(reason: "daemon stopping") } }
        while workers.contains(where: { !$0.isFinished }) { usleep(100_000) }
        beat.stop()
        lock.withLock {
            holds.values.forEach { $0.release() }
            holds = [:]
        }
        if inotifyFD >= 0 { close(inotifyFD) }
        logger.notice("stopped")
    }

    /// What the heartbeat tells the store about this node.
    private func nodeStatus(now: Date) -> NodeStatus {
        let (running, watching) = lock.withLock { (runningJobs.values.sorted(), holds.keys.sorted()) }
        let board = progress.all()
        let reports = running.compactMap { board[$0] }
        return NodeStatus(name: nodeName, host: ProcessInfo.processInfo.hostName, pid: getpid(), role: role.rawValue,
                          load: NodeBeat.loadAverage(), running: running, watching: watching, startedAt: startedAt, seenAt: now,
                          progress: reports)
    }

    // MARK: holding watch folders

    /// Takes the watcher role for each configured folder not held yet (asking again every second:
    /// another node may hold it, and this one is its standby) and stops watching folders whose hold
    /// was lost or that left the configuration.
    private func updateHolds(now: Date) {
        let (watches, map) = lock.withLock { (config.watches, config.pathMap) }
        let wanted = Set(watches.map(\.folder))
        for (folder, hold) in lock.withLock({ holds }) where !hold.isHeld || !wanted.contains(folder) {
            hold.release()
            lock.withLock { holds[folder] = nil; trackers[folder] = nil }
            removeWatch(folder)
            if wanted.contains(folder) {
                logger.warning("lost the watch hold; standing by", metadata: ["folder": "\(folder)"])
            }
        }
        for w in watches where lock.withLock({ holds[w.folder] == nil }) {
            if let asked = lock.withLock({ holdAskedAt[w.folder] }), now.timeIntervalSince(asked) < 1 { continue }
            lock.withLock { holdAskedAt[w.folder] = now }
            do {
                if let hold = try store.holdWatch(w.folder, node: nodeName) {
                    lock.withLock {
                        holds[w.folder] = hold
                        freshlyHeld.insert(w.folder)
                        standbyLogged.remove(w.folder)
                    }
                    addWatch(w.folder, at: map.local(w.folder))
                    logger.notice("watching", metadata: ["folder": "\(w.folder)", "node": "\(nodeName)"])
                } else if lock.withLock({ standbyLogged.insert(w.folder).inserted }) {
                    logger.notice("standby: another node watches this folder", metadata: ["folder": "\(w.folder)"])
                }
            } catch {
                logger.error("can't ask for the watch hold", metadata: ["folder": "\(w.folder)", "error": "\(error)"])
            }
        }
    }

    // MARK: finding recordings

    private func setUpInotify() {
        inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotifyFD >= 0 else { logger.warning("inotify unavailable; relying on rescans"); return }
    }

    /// Events on `localFolder` (where this node mounts it) count for the canonical `folder`.
    private func addWatch(_ folder: String, at localFolder: String) {
        guard inotifyFD >= 0 else { return }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM)
        let wd = inotify_add_watch(inotifyFD, localFolder, mask)
        if wd >= 0 { lock.withLock { watchDescriptors[wd] = folder } } else { logger.warning("can't watch folder", metadata: ["folder": "\(localFolder)"]) }
    }

    private func removeWatch(_ folder: String) {
        for (wd, f) in lock.withLock({ watchDescriptors }) where f == folder {
            if inotifyFD >= 0 { inotify_rm_watch(inotifyFD, wd) }
            lock.withLock { watchDescriptors[wd] = nil }
        }
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
                if let f = lock.withLock({ watchDescriptors[wd] }) { folders.insert(f) }
                i += 16 + len
            }
        }
        return folders
    }

    /// Looks at a held watch folder (`w` canonical; files are read where this node mounts them).
    private func scan(_ w: DaemonConfig.Watch, now: Double, listing: Bool) {
        var tracker = lock.withLock { trackers[w.folder] ?? ArrivalTracker(quietSeconds: config.quietSeconds) }
        let localFolder = Daemon.local(w, lock.withLock { config.pathMap }).folder
        var names: [String] = []
        if listing {
            names = (try? FileManager.default.contentsOfDirectory(atPath: localFolder)) ?? []
        } else {
            names = tracker.waiting(now: now).map { ($0.path as NSString).lastPathComponent }
        }
        var ready: [String] = []
        for name in names where ArrivalTracker.isCandidate(name: name) {
            let path = (localFolder as NSString).appendingPathComponent(name)
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
            && (path as NSString).deletingLastPathComponent == localFolder { ready.append(path) }
        lock.withLock { trackers[w.folder] = tracker }
        for path in ready { admit(path, watch: w, now: now) }
    }

    /// A complete file (`path` as this node sees it): probe it, wait for sidecars if highlights
    /// want them, then record its jobs under its canonical path.
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
            var identity = try InputIdentity.of(path: path)
            let map = lock.withLock { config.pathMap }
            identity.path = map.canonical(path)
            let profiles = try? ProfileLibrary(folders: ProfileLibrary.defaultFolders(extra: config.profileFolders.map(map.local)))
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

    /// Moves the input (`path` as this node sees it) to the quarantine folder of `w` (canonical)
    /// with `NAME.error.txt` saying why. The file itself is never changed.
    func quarantine(_ path: String, watch w: DaemonConfig.Watch, reason: String, move: Bool = true) {
        let name = (path as NSString).lastPathComponent
        let target = Daemon.freeName(for: name, in: Daemon.local(w, lock.withLock { config.pathMap }).quarantine)
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
            let lease = lock.withLock { config.leaseSeconds }
            do { claimed = try store.claimNext(node: nodeName, pid: pid, lease: lease, now: Date()) } catch {
                logger.error("job store", metadata: ["error": "\(error)"])
                sleep(1)
                continue
            }
            guard let (job, claim) = claimed else { usleep(500_000); continue }
            DaemonMetrics.claimed(job, at: Date())
            lock.withLock { runningJobs[n] = job.id }
            progress.started(job.id, at: Date())
            execute(job, claim: claim, worker: n)
            progress.ended(job.id)
            lock.withLock { runningJobs[n] = nil }
        }
    }

    private func execute(_ job: Job, claim: Claim, worker: Int) {
        var log = logger
        log[metadataKey: "job"] = "\(job.id)"
        log[metadataKey: "input"] = "\(job.input.path)"
        log[metadataKey: "form"] = "\(job.kind)"
        log[metadataKey: "fence"] = "\(claim.fence)"
        let (canonicalWatch, cfg) = lock.withLock { (config.watches.first { $0.folder == job.watchFolder }, config) }
        // Whatever this part's attempt came to, a graph that can no longer finish loses its parts.
        defer { if let parent = job.parentID { removeParts(ofEndedGraph: parent, log: log) } }
        // A job this node can't see (its folder not in this node's settings, its input not on this
        // node's mounts) may be fine for another node: a failed attempt with backoff, not the end.
        guard let canonicalWatch else {
            _ = markFailed(claim, error: "watch folder \(job.watchFolder) is not configured on node \(nodeName)", maxAttempts: cfg.maxAttempts, log: log)
            return
        }
        // This node's view of the job's paths (the store's are canonical).
        let watch = Daemon.local(canonicalWatch, cfg.pathMap)
        let input = cfg.pathMap.local(job.input.path)
        guard FileManager.default.fileExists(atPath: input) else {
            _ = markFailed(claim, error: "\(input): the input is gone", maxAttempts: cfg.maxAttempts, log: log)
            log.error("input gone")
            return
        }
        let out = JobPlan.outputFolder(input: input, watch: watch)
        // The child writes into a staging folder; its outputs are published only under a live claim.
        // A chunk's or the audio part's outputs are published into its graph's hidden parts folder.
        let staging = StagedPublish(target: out, jobID: job.id, fence: claim.fence, parts: ChunkGraph.publishesParts(job), graph: job.parentID)
        // An earlier attempt was lost while publishing (after proving its claim, before the store
        // recorded it): its outputs are whole; finish its renames instead of encoding again (before
        // any check for encoding: this writes nothing new).
        if let earlier = staging.unfinishedPublish() {
            log.notice("finishing the publish an earlier attempt began", metadata: ["folder": "\(earlier.folder)"])
            if publishAndRecord(earlier, outputs: nil, job: job, claim: claim, cfg: cfg, watch: canonicalWatch, seconds: "0.0", log: log) {
                // Other attempts' leftovers (no journal) go too.
                if (try? staging.prepare()) != nil { staging.discard() }
            }
            return
        }
        // Free space first: a clear failure (retried later) instead of a full disk.
        let needed = JobPlan.spaceNeeded(kind: job.kind, inputSize: job.input.size) + cfg.diskReserve
        if let free = Daemon.freeSpace(near: out), free < needed {
            let message = String(format: "%@: not enough free space (%.1f GB free, %.1f GB needed including the %.1f GB reserve)",
                                 out, Double(free) / 1e9, Double(needed) / 1e9, Double(cfg.diskReserve) / 1e9)
            let after = markFailed(claim, error: message, maxAttempts: cfg.maxAttempts, log: log)
            log.error("not started: disk space", metadata: ["error": "\(message)", "state": "\(after?.state.rawValue ?? "-")"])
            quarantineIfOutOfAttempts(after, watch: canonicalWatch)
            return
        }
        // One keeper for the whole attempt, its deadline the store's: planning and encoding both
        // count against the same lease.
        let lease = LeaseKeeper(store: store, claim: claim, seconds: cfg.leaseSeconds, deadline: job.leaseUntil)
        // A long transcode becomes parts other workers can take: planned here, run as child jobs.
        if job.parentID == nil, let chunkSeconds = cfg.chunkSeconds, ChunkGraph.canSplit(kind: job.kind) {
            switch split(job, claim: claim, lease: lease, input: input, out: out, chunkSeconds: chunkSeconds, cfg: cfg, watch: canonicalWatch, log: log) {
            case .split, .handled: return
            case .whole: break
            }
        }
        do {
            let stale = try staging.prepare()
            if !stale.isEmpty { log.notice("removed what an earlier attempt left in staging", metadata: ["folders": "\(stale)"]) }
        } catch {
            let after = markFailed(claim, error: "\(staging.folder): can't make the staging folder: \(error.localizedDescription)",
                                   maxAttempts: cfg.maxAttempts, log: log)
            log.error("not started: staging folder", metadata: ["error": "\(error)", "state": "\(after?.state.rawValue ?? "-")"])
            return
        }
        let args: [String]
        if job.parentID != nil {
            do {
                args = try ChunkGraph.arguments(part: job, input: input, folder: staging.folder,
                                                profileFolders: cfg.profileFolders.map(cfg.pathMap.local), local: cfg.pathMap.local)
            } catch {
                staging.discard()
                _ = markFailed(claim, error: "\(error)", maxAttempts: 1, log: log)
                return
            }
        } else {
            var plain = JobPlan.arguments(kind: job.kind, input: input, watch: watch, profileFolders: cfg.profileFolders.map(cfg.pathMap.local),
                                          into: staging.folder)
            // The console's corrections of this recording's plan, newest version, for the runs that use the plan.
            if job.kind == "highlights" || job.kind == "shorts" {
                do {
                    if let file = try overridesFile(for: job, cfg: cfg) { plain += ["--overrides", file] }
                } catch {
                    staging.discard()
                    let after = markFailed(claim, error: "plan overrides: \(error)", maxAttempts: cfg.maxAttempts, log: log)
                    log.error("not started: plan overrides", metadata: ["error": "\(error)", "state": "\(after?.state.rawValue ?? "-")"])
                    return
                }
            }
            args = plain
        }
        defer { if job.kind == "highlights" || job.kind == "shorts" { try? FileManager.default.removeItem(atPath: overridesPath(job, cfg)) } }
        log.notice("started", metadata: ["attempt": "\(job.attempts)"])
        let runner = JobRunner()
        lock.withLock { runners[worker] = runner }
        let started = Date()
        let board = progress, jobID = job.id
        let outcome = runner.run(executable: executable, arguments: args, stallSeconds: cfg.stallSeconds, shouldStop: { [self] in
            if self.isStopping { return "daemon stopping" }
            return lease.keep(now: Date())
        }, onProgress: { line in board.record(line: line, job: jobID) })
        lock.withLock { runners[worker] = nil }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        switch outcome {
        case .finished(let result):
            if publishAndRecord(staging, outputs: Daemon.outputs(fromResult: result), job: job, claim: claim, cfg: cfg,
                                watch: canonicalWatch, seconds: seconds, log: log) {
                let outputs = ((try? store.job(job.id))?.outputs ?? []).map(cfg.pathMap.local)
                DaemonMetrics.attemptFinished(job, outcome: "done", seconds: Date().timeIntervalSince(started), result: result, outputs: outputs)
            }
        case .stopped(let reason):
            staging.discard()
            if reason == "daemon stopping" {
                _ = try? store.release(claim)
                log.notice("stopped and re-queued", metadata: ["seconds": "\(seconds)"])
            } else if reason == "cancelled" {
                log.notice("cancelled", metadata: ["seconds": "\(seconds)"])
            } else if reason.hasPrefix("lease lost") {
                // The job is another node's (or will be once the lease runs out): nothing to record.
                logLeaseLost(claim, log: log, detail: reason)
            } else {
                DaemonMetrics.attemptFinished(job, outcome: "failed", seconds: Date().timeIntervalSince(started), result: nil, outputs: [])
                let after = markFailed(claim, error: reason, maxAttempts: cfg.maxAttempts, log: log)
                log.error("stalled; stopped", metadata: ["reason": "\(reason)", "state": "\(after?.state.rawValue ?? "-")"])
                quarantineIfOutOfAttempts(after, watch: canonicalWatch)
            }
        case .failed(let message):
            staging.discard()
            DaemonMetrics.attemptFinished(job, outcome: "failed", seconds: Date().timeIntervalSince(started), result: nil, outputs: [])
            // Only an input that is not media at all is quarantined; a read error may be passing.
            let badInput = ["not a readable media file", "has no video stream", "holds no readable video packets"]
                .contains { message.contains($0) }
            if badInput {
                DaemonMetrics.failure(message)
                giveUp(on: job, watch: canonicalWatch, reason: message, quarantiningTheJob: true)
            } else {
                let after = markFailed(claim, error: message, maxAttempts: cfg.maxAttempts, log: log)
                log.error("failed", metadata: ["error": "\(message)", "state": "\(after?.state.rawValue ?? "-")", "seconds": "\(seconds)"])
                quarantineIfOutOfAttempts(after, watch: canonicalWatch)
            }
        }
    }

    /// Removes published parts (store paths), then their parts folder if that is left empty (a
    /// recording's other split jobs may have parts there too).
    private func removeParts(_ parts: [String], pathMap: PathMap) {
        var graphFolders = Set<String>(), partsFolders = Set<String>()
        for part in parts.map(pathMap.local) {
            try? FileManager.default.removeItem(atPath: part)
            var folder = (part as NSString).deletingLastPathComponent
            if (folder as NSString).lastPathComponent.hasPrefix("job-") {
                graphFolders.insert(folder)
                folder = (folder as NSString).deletingLastPathComponent
            }
            if (folder as NSString).lastPathComponent == ChunkGraph.partsFolderName { partsFolders.insert(folder) }
        }
        // Each fails, as meant, while its folder has entries.
        for folder in graphFolders { _ = rmdir(folder) }
        for folder in partsFolders { _ = rmdir(folder) }
    }

    /// A split job that ended without its stitch (failed: a part out of attempts; cancelled;
    /// quarantined) will never use its published parts: removed, best effort. Called as each of
    /// its parts' attempts ends on this node (and by `sweepEndedGraphs`). Not while a part of the graph is still running: its
    /// node holds a live claim and may be about to publish into the parts folder; it calls this
    /// itself when its attempt ends, so the last part to end cleans up. Known gaps, left on
    /// purpose (parts stay, nothing is lost): two parts ending at the same moment each see the
    /// other running; and a part that proved its claim just before a cancel and publishes just
    /// after this ran cleans up only through its own call (the store refuses its `markDone`).
    /// That is why `reprise jobs retry` of such a job runs every part again, done ones too.
    private func removeParts(ofEndedGraph parentID: Int64, log: Logger) {
        guard let parent = try? store.job(parentID), parent.isFinal, parent.state != .done,
              let children = try? store.children(of: parentID) else { return }
        if let running = children.first(where: { $0.state == .running }) {
            log.notice("parts of the ended job left for now: a part is still running", metadata: ["parent": "\(parentID)", "part": "\(running.id)"])
            return
        }
        let parts = ChunkGraph.partFiles(ofGraph: children)
        let pathMap = lock.withLock { config.pathMap }
        let published = parts.filter { FileManager.default.fileExists(atPath: pathMap.local($0)) }
        removeParts(parts, pathMap: pathMap)
        if !published.isEmpty { log.notice("parts of the ended job removed", metadata: ["parent": "\(parentID)", "state": "\(parent.state.rawValue)", "parts": "\(published.count)"]) }
    }

    /// Parts of split jobs that ended while none of their parts ran (cancelled or quarantined
    /// while its parts waited out a backoff or for the stitch; a node that crashed): no attempt's
    /// end removes those, so every node looks for them at start and hourly. Only graphs that
    /// ended over a lease ago: a part that proved its claim just before the end may still
    /// publish for up to that long.
    private func sweepEndedGraphs() {
        let lease = lock.withLock { config.leaseSeconds }
        guard let ended = try? store.jobs(states: [.failed, .cancelled, .quarantined], limit: 1000) else { return }
        for job in ended where job.parentID == nil && ChunkGraph.canSplit(kind: job.kind) {
            guard let finished = job.finishedAt, Date().timeIntervalSince(finished) > lease else { continue }
            var log = logger
            log[metadataKey: "job"] = "\(job.id)"
            removeParts(ofEndedGraph: job.id, log: log)
        }
        sweepStagingOfEndedJobs(lease: lease)
    }

    /// Staging folders of jobs that ended over a lease ago: no attempt of theirs will finish or
    /// remove them (a node lost between the store's record and removing its folder; a publish
    /// left to an attempt that then ended otherwise).
    private func sweepStagingOfEndedJobs(lease: Double) {
        let (watches, pathMap) = lock.withLock { (config.watches, config.pathMap) }
        guard let ended = try? store.jobs(states: [.done, .failed, .cancelled, .quarantined], limit: 1000) else { return }
        for job in ended {
            guard let finished = job.finishedAt, Date().timeIntervalSince(finished) > lease,
                  let watch = watches.first(where: { $0.folder == job.watchFolder }) else { continue }
            let out = JobPlan.outputFolder(input: pathMap.local(job.input.path), watch: Daemon.local(watch, pathMap))
            let prefix = StagedPublish.prefix(job.id)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] where name.hasPrefix(prefix) {
                try? FileManager.default.removeItem(atPath: (out as NSString).appendingPathComponent(name))
                logger.notice("removed an ended job's staging folder", metadata: ["job": "\(job.id)", "folder": "\(name)"])
            }
        }
    }

    /// Proves `claim` still holds, publishes `publisher`'s staged entries, records the job done,
    /// then does what a done job allows (a stitch's parts removed, the input moved to done).
    /// `outputs`: the child's reported paths (staged), or nil to record the published entries
    /// (finishing an earlier attempt's publish, whose child's report is gone).
    @discardableResult
    private func publishAndRecord(_ publisher: StagedPublish, outputs staged: [String]?, job: Job, claim: Claim, cfg: DaemonConfig,
                                  watch canonicalWatch: DaemonConfig.Watch, seconds: String, log: Logger) -> Bool {
        // Proof that the claim still holds just before publishing: renewed, it is good for a
        // whole lease, far longer than the renames take.
        var held: Bool
        let asked = Date()
        do { held = try store.renewLease(claim, lease: cfg.leaseSeconds, now: asked) } catch {
            log.error("can't reach the job store to prove the claim; nothing published", metadata: ["error": "\(error)"])
            held = false
        }
        // A slow answer may come after the renewed lease is nearly over: then it proves nothing.
        if held, Date() >= asked.addingTimeInterval(cfg.leaseSeconds * 5 / 6) {
            log.error("the job store answered too late to prove the claim; nothing published")
            held = false
        }
        guard held else {
            // An earlier attempt's unfinished publish stays for the job's next attempt.
            if staged != nil { publisher.discard() }
            if (try? store.isCancelled(job.id)) == true {
                log.notice("cancelled; nothing published", metadata: ["seconds": "\(seconds)"])
            } else {
                logLeaseLost(claim, log: log, detail: "finished, nothing published")
            }
            return false
        }
        let reported = staged.map { $0.map(publisher.finalPath) }
        let published: [String]
        do { published = try publisher.publish(outputs: reported ?? []) } catch {
            publisher.discard()
            let after = markFailed(claim, error: "\(error)", maxAttempts: cfg.maxAttempts, log: log)
            log.error("can't publish", metadata: ["error": "\(error)", "state": "\(after?.state.rawValue ?? "-")"])
            return false
        }
        // What the child reported (kept in the journal for a resumed publish), else the entries.
        let journalled = publisher.readJournal()?.outputs ?? []
        let outputs = (reported ?? (journalled.isEmpty ? published : journalled))
            .filter { FileManager.default.fileExists(atPath: $0) }.map(cfg.pathMap.canonical)
        // Recorded, or the job runs again: then its parts, its input and the journal must stay
        // (the next attempt finishes this publish instead of encoding again).
        var recorded = false
        for attempt in 1...5 where !recorded {
            do { try store.markDone(claim, outputs: outputs, now: Date()); recorded = true } catch is StaleClaim {
                // A record that committed but whose answer was lost (a call that timed out) comes
                // back as stale on the retry: the job done under this very claim is recorded.
                if let now = try? store.job(job.id), now.state == .done, now.fence == claim.fence {
                    recorded = true
                    break
                }
                // Another attempt holds the job: it finishes this publish or publishes its own; the
                // folder is left to it (and to the sweep of ended jobs' staging folders).
                logLeaseLost(claim, log: log, detail: "after publishing")
                return false
            } catch {
                log.error("job store", metadata: ["error": "\(error)", "try": "\(attempt)"])
                if attempt < 5 { sleep(1) }
            }
        }
        guard recorded else { return false }
        publisher.discard()
        log.notice("done", metadata: ["seconds": "\(seconds)", "outputs": "\(outputs.count)"])
        // A stitched output is in place: its parts have served.
        removeParts(ChunkGraph.partFiles(of: job), pathMap: cfg.pathMap)
        moveToDoneIfFinished(job, watch: canonicalWatch)
        return true
    }

    private enum SplitOutcome { case split, whole, handled }

    /// Plans `job`'s chunks with a `--chunk-plan` child and splits the job into them. `.whole`
    /// when one chunk covers the recording (it runs as it is); `.handled` when planning failed
    /// (recorded as a failed attempt) or the claim was lost.
    private func split(_ job: Job, claim: Claim, lease: LeaseKeeper, input: String, out: String, chunkSeconds: Double, cfg: DaemonConfig,
                       watch: DaemonConfig.Watch, log: Logger) -> SplitOutcome {
        let args = ChunkGraph.planArguments(kind: job.kind, input: input, output: out, chunkSeconds: chunkSeconds,
                                            profileFolders: cfg.profileFolders.map(cfg.pathMap.local))
        let outcome = JobRunner().run(executable: executable, arguments: args, stallSeconds: cfg.stallSeconds, shouldStop: { [self] in
            if self.isStopping { return "daemon stopping" }
            return lease.keep(now: Date())
        }, onProgress: { _ in })
        let failure: String
        switch outcome {
        case .finished(let result):
            do {
                var layout = try ChunkGraph.layout(fromResult: result)
                // Parts are named in the store as every node names them: canonical paths.
                layout.output = cfg.pathMap.canonical(layout.output)
                layout.audioPart = layout.audioPart.map(cfg.pathMap.canonical)
                for i in layout.chunks.indices { layout.chunks[i].part = cfg.pathMap.canonical(layout.chunks[i].part) }
                // Each graph's parts in a folder of their own: a later recording of the same name
                // (its parts named the same) never meets this one's, nor its cleanup.
                layout.audioPart = layout.audioPart.map { ChunkGraph.inGraphFolder($0, parent: job.id) }
                for i in layout.chunks.indices { layout.chunks[i].part = ChunkGraph.inGraphFolder(layout.chunks[i].part, parent: job.id) }
                guard let drafts = try ChunkGraph.drafts(kind: job.kind, priority: job.priority, layout: layout) else { return .whole }
                let parts = try store.split(claim, into: drafts, now: Date())
                log.notice("split into parts", metadata: ["chunks": "\(layout.chunks.count)", "parts": "\(parts.map(\.id))"])
                return .split
            } catch is StaleClaim {
                logLeaseLost(claim, log: log, detail: "while splitting")
                return .handled
            } catch {
                failure = "\(error)"
            }
        case .stopped(let reason):
            if reason == "daemon stopping" { _ = try? store.release(claim) }
            else if reason.hasPrefix("lease lost") { logLeaseLost(claim, log: log, detail: reason) }
            else if reason != "cancelled" { _ = markFailed(claim, error: reason, maxAttempts: cfg.maxAttempts, log: log) }
            return .handled
        case .failed(let message):
            failure = message
        }
        let after = markFailed(claim, error: failure, maxAttempts: cfg.maxAttempts, log: log)
        log.error("can't plan the chunks", metadata: ["error": "\(failure)", "state": "\(after?.state.rawValue ?? "-")"])
        quarantineIfOutOfAttempts(after, watch: watch)
        return .handled
    }

    /// Where a job's plan overrides are written for its child (the state folder: never published).
    private func overridesPath(_ job: Job, _ cfg: DaemonConfig) -> String {
        (cfg.stateDirectory as NSString).appendingPathComponent("overrides/job-\(job.id)-\(getpid()).json")
    }

    /// The recording's newest plan override, written for the child with its version; nil when none.
    private func overridesFile(for job: Job, cfg: DaemonConfig) throws -> String? {
        guard let latest = try store.latestOverride(recording: job.input.path, hash: job.input.hash) else { return nil }
        guard var body = (try? JSONSerialization.jsonObject(with: Data(latest.body.utf8))) as? [String: Any] else {
            throw JobStoreError("version \(latest.version) is not a JSON object")
        }
        body["version"] = latest.version
        let path = overridesPath(job, cfg)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }

    /// A failed attempt recorded under `claim`; nil when the claim is stale (logged once: the job
    /// is another node's now) or the store can't be reached.
    private func markFailed(_ claim: Claim, error: String, maxAttempts: Int, log: Logger) -> Job? {
        do {
            let job = try store.markFailed(claim, error: error, maxAttempts: maxAttempts, now: Date())
            DaemonMetrics.failure(error)
            return job
        } catch is StaleClaim {
            logLeaseLost(claim, log: log, detail: "failed: \(error)")
        } catch {
            log.error("job store", metadata: ["error": "\(error)"])
        }
        return nil
    }

    private func logLeaseLost(_ claim: Claim, log: Logger, detail: String) {
        log.warning("lease lost; another node owns job \(claim.jobID) now", metadata: ["detail": "\(detail)"])
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
            // A part's whole job gives up with it (it would wait for its parts forever).
            if quarantiningTheJob, let parent = job.parentID { try? store.markQuarantined(parent, reason: reason, now: Date()) }
            let siblings = ((try? store.jobs()) ?? []).filter { $0.input.path == job.input.path && $0.input.hash == job.input.hash && $0.id != job.id }
            for s in siblings where s.state == .queued { try? store.markQuarantined(s.id, reason: reason, now: Date()) }
            let input = lock.withLock { config.pathMap }.local(job.input.path)
            guard FileManager.default.fileExists(atPath: input) else { return }
            quarantine(input, watch: watch, reason: reason, move: !siblings.contains { $0.state == .running })
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

    private func moveToDoneIfFinished(_ job: Job, watch canonicalWatch: DaemonConfig.Watch) {
        let map = lock.withLock { config.pathMap }
        guard let done = Daemon.local(canonicalWatch, map).done else { return }
        let siblings = (try? store.jobs()) ?? []
        let mine = siblings.filter { $0.input.path == job.input.path && $0.input.hash == job.input.hash }
        guard !mine.isEmpty, mine.allSatisfy({ $0.state == .done }) else { return }
        let input = map.local(job.input.path)
        let target = Daemon.freeName(for: (input as NSString).lastPathComponent, in: done)
        if Daemon.moveWithoutReplacing(input, to: target) {
            logger.notice("moved to the done folder", metadata: ["input": "\(input)", "to": "\(target)"])
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
            var fresh = try DaemonConfigLoader.load(path: configPath)
            // What this node is and which store it uses are fixed for its life (and may have come
            // from the command line); folders are taken or let go by the next hold update.
            lock.withLock {
                fresh.role = config.role; fresh.store = config.store; fresh.node = config.node
                fresh.stateDirectory = config.stateDirectory
            }
            for w in fresh.watches.map({ Daemon.local($0, fresh.pathMap) }) {
                for dir in [w.folder, w.output, w.quarantine] { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            }
            lock.withLock { config = fresh }
            logger.notice("configuration reloaded", metadata: ["config": "\(configPath)"])
        } catch {
            logger.error("configuration not reloaded; keeping the old one", metadata: ["error": "\(error)"])
        }
    }

    private func cleanup() {
        sweepEndedGraphs()
        // The store drops a finished job only when its input is gone, looking at the canonical
        // path: a node that mounts the storage elsewhere would see every input gone.
        guard lock.withLock({ config.pathMap.entries.isEmpty }) else { return }
        let days = lock.withLock { config.retentionDays }
        if let removed = try? store.removeFinished(olderThan: Date().addingTimeInterval(-days * 86400)), removed > 0 {
            logger.info("old finished jobs dropped from the store", metadata: ["jobs": "\(removed)"])
        }
    }
}
