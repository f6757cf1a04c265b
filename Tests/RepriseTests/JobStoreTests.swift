import Foundation
import XCTest
@testable import RepriseJobs

/// The watch-folder daemon's job store: enqueue rules, claim order and exclusivity, retries with
/// backoff, crash and shutdown recovery, operator commands, durability, and input identity.
final class JobStoreTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("state/jobs.sqlite").path }
    private let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    private let livePID = ProcessInfo.processInfo.processIdentifier
    /// No such process: Linux's pid_max is at most 4194304 and is usually far lower; macOS's is 99999.
    private let deadPID: Int32 = 999_999

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func identity(_ name: String, hash: String = "00112233445566778899aabbccddeeff") -> InputIdentity {
        InputIdentity(path: "/watch/\(name)", size: 1000, modified: 1_700_000_000.5, hash: hash)
    }

    private let allKinds: [(kind: String, priority: Int)] =
        [("transcode:vertical-short", 10), ("ladder:default", 50), ("highlights:default", 20)]

    // MARK: - Enqueue

    func testEnqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() throws {
        let store = try SQLiteJobStore(path: dbPath)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dbPath), "the store creates its folder and file")
        let input = identity("a.mkv")
        let created = try store.enqueue(input, watchFolder: "/watch", kinds: allKinds, now: t0)
        XCTAssertEqual(created.map(\.kind), ["transcode:vertical-short", "ladder:default", "highlights:default"])
        XCTAssertEqual(created.map(\.priority), [10, 50, 20])
        XCTAssertEqual(Set(created.map(\.id)).count, 3)
        for job in created {
            XCTAssertEqual(job.input, input)
            XCTAssertEqual(job.watchFolder, "/watch")
            XCTAssertEqual(job.state, .queued)
            XCTAssertEqual(job.attempts, 0)
            XCTAssertEqual(job.outputs, [])
            XCTAssertEqual(job.createdAt, t0)
            XCTAssertNil(job.startedAt)
            XCTAssertNil(job.notBefore)
            XCTAssertNil(job.workerPID)
            XCTAssertEqual(try store.job(job.id), job, "what enqueue returns is what is stored")
        }

        // Same path, same hash: nothing, even with a new mtime and even once the jobs are finished.
        var touched = input
        touched.modified += 60
        XCTAssertEqual(try store.enqueue(touched, watchFolder: "/watch", kinds: allKinds, now: t0 + 60).count, 0)
        let claimed = try XCTUnwrap(try store.claimNext(pid: livePID, now: t0 + 61))
        try store.markDone(claimed.id, outputs: ["/out/a.mp4"], now: t0 + 62)
        XCTAssertEqual(try store.enqueue(input, watchFolder: "/watch", kinds: allKinds, now: t0 + 63).count, 0)
        // A kind it did not have yet is still added.
        let more = try store.enqueue(input, watchFolder: "/watch", kinds: [("transcode:square", 15)], now: t0 + 64)
        XCTAssertEqual(more.map(\.kind), ["transcode:square"])
        XCTAssertEqual(try store.jobs().count, 4)
    }

    func testAChangedHashCreatesNewJobs() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let first = try store.enqueue(identity("a.mkv"), watchFolder: "/watch", kinds: allKinds, now: t0)
        let changed = identity("a.mkv", hash: "ffeeddccbbaa99887766554433221100")
        let second = try store.enqueue(changed, watchFolder: "/watch", kinds: allKinds, now: t0 + 1)
        XCTAssertEqual(second.count, 3)
        XCTAssertEqual(second.map(\.input.hash), Array(repeating: "ffeeddccbbaa99887766554433221100", count: 3))
        XCTAssertTrue(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
        // Another path with the first hash is another input too.
        XCTAssertEqual(try store.enqueue(identity("b.mkv"), watchFolder: "/watch", kinds: allKinds, now: t0 + 2).count, 3)
        XCTAssertEqual(try store.counts()[.queued], 9)
    }

    // MARK: - Claim

    func testClaimTakesLowestPriorityFirstThenOldest() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let a = try store.enqueue(identity("a.mkv"), watchFolder: "/w",
                                  kinds: [("ladder:default", 50), ("transcode:vertical-short", 10)], now: t0)
        let b = try store.enqueue(identity("b.mkv"), watchFolder: "/w",
                                  kinds: [("transcode:vertical-short", 10), ("ladder:default", 50)], now: t0 + 10)
        // Older but later in the queue than every priority-10 job.
        let c = try store.enqueue(identity("c.mkv"), watchFolder: "/w", kinds: [("highlights:default", 20)], now: t0 - 100)

        var order: [Int64] = []
        while let job = try store.claimNext(pid: livePID, now: t0 + 20) {
            XCTAssertEqual(job.state, .running)
            XCTAssertEqual(job.attempts, 1)
            XCTAssertEqual(job.startedAt, t0 + 20)
            XCTAssertEqual(job.workerPID, livePID)
            order.append(job.id)
        }
        XCTAssertEqual(order, [a[1].id, b[0].id, c[0].id, a[0].id, b[1].id])
        XCTAssertNil(try store.claimNext(pid: livePID, now: t0 + 21))
        XCTAssertEqual(try store.counts()[.running], 5)
    }

    func testClaimIsExclusiveAcrossThreadsAndStoreInstances() throws {
        let stores = [try SQLiteJobStore(path: dbPath), try SQLiteJobStore(path: dbPath)]
        for i in 0..<50 {
            _ = try stores[0].enqueue(identity("f\(i).mkv"), watchFolder: "/w", kinds: [("ladder:default", i % 3)], now: t0)
        }
        let results = ClaimResults()
        let now = t0 + 1
        // Eight real threads, released together, half on each store instance (two connections, as
        // two processes would have).
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for worker in 0..<8 {
            let store = stores[worker % 2]
            finished.enter()
            Thread {
                gate.wait()
                defer { finished.leave() }
                while true {
                    do {
                        guard let job = try store.claimNext(pid: 1000 + Int32(worker), now: now) else { return }
                        results.add(job.id, by: job.workerPID)
                    } catch {
                        results.add(error)
                        return
                    }
                }
            }.start()
        }
        for _ in 0..<8 { gate.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success)
        let (claimed, errors) = results.snapshot()
        XCTAssertEqual(errors, [])
        XCTAssertEqual(claimed.count, 50, "every job claimed exactly once")
        XCTAssertEqual(Set(claimed.map(\.id)).count, 50)
        // Whoever claimed a job is who the store says runs it: no claim was overwritten by another.
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: try stores[0].jobs().map { ($0.id, $0.workerPID) }),
                       Dictionary(claimed.map { ($0.id, $0.pid) }, uniquingKeysWith: { first, _ in first }))
        XCTAssertGreaterThan(Set(claimed.map(\.pid)).count, 1, "more than one worker got jobs")
        XCTAssertEqual(try stores[1].counts()[.running], 50)
        XCTAssertEqual(try stores[0].jobs().map(\.attempts), Array(repeating: 1, count: 50))
    }

    func testClaimRespectsNotBefore() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let job = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("ladder:default", 0)], now: t0)[0]
        _ = try XCTUnwrap(try store.claimNext(pid: livePID, now: t0))
        let failed = try store.markFailed(job.id, error: "encoder died", maxAttempts: 3, now: t0 + 5)
        XCTAssertEqual(failed.notBefore, t0 + 35)
        XCTAssertNil(try store.claimNext(pid: livePID, now: t0 + 34.9))
        XCTAssertEqual(try store.claimNext(pid: livePID, now: t0 + 35)?.id, job.id)
    }

    // MARK: - Failure and backoff

    func testMarkFailedBacksOffThenFailsAtMaxAttempts() throws {
        XCTAssertEqual((1...9).map { JobBackoff.after(attempts: $0) }, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        let store = try SQLiteJobStore(path: dbPath)
        let id = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("ladder:default", 0)], now: t0)[0].id
        var now = t0
        for (attempt, wait) in [(1, 30.0), (2, 60.0), (3, 120.0)] {
            let claimed = try XCTUnwrap(try store.claimNext(pid: livePID, now: now))
            XCTAssertEqual(claimed.attempts, attempt)
            let job = try store.markFailed(id, error: "boom \(attempt)", maxAttempts: 4, now: now)
            XCTAssertEqual(job.state, .queued)
            XCTAssertEqual(job.attempts, attempt)
            XCTAssertEqual(job.lastError, "boom \(attempt)")
            XCTAssertEqual(job.notBefore, now + wait)
            XCTAssertNil(job.workerPID)
            XCTAssertNil(job.finishedAt)
            now = now + wait
        }
        _ = try XCTUnwrap(try store.claimNext(pid: livePID, now: now))
        let final = try store.markFailed(id, error: "boom 4", maxAttempts: 4, now: now + 1)
        XCTAssertEqual(final.state, .failed)
        XCTAssertEqual(final.attempts, 4)
        XCTAssertEqual(final.lastError, "boom 4")
        XCTAssertEqual(final.finishedAt, now + 1)
        XCTAssertNil(final.notBefore)
        XCTAssertNil(try store.claimNext(pid: livePID, now: now + 10_000))
        // Only a running job can fail or succeed.
        XCTAssertThrowsError(try store.markFailed(id, error: "again", maxAttempts: 9, now: now)) {
            XCTAssertEqual("\($0)", "job \(id) is failed, not running under node node-\(livePID)'s claim (fence 4); refused")
        }
        XCTAssertThrowsError(try store.markDone(id, outputs: [], now: now)) {
            XCTAssertEqual("\($0)", "job \(id) is failed, not running under node node-\(livePID)'s claim (fence 4); refused")
        }
    }

    func testMarkDoneAndQuarantined() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let jobs = try store.enqueue(identity("a.mkv"), watchFolder: "/w",
                                     kinds: [("transcode:vertical-short", 0), ("ladder:default", 1)], now: t0)
        _ = try store.claimNext(pid: livePID, now: t0)
        try store.markDone(jobs[0].id, outputs: ["/out/a/short.mp4", "/out/a/short.jpg"], now: t0 + 9)
        let done = try XCTUnwrap(try store.job(jobs[0].id))
        XCTAssertEqual(done.state, .done)
        XCTAssertEqual(done.outputs, ["/out/a/short.mp4", "/out/a/short.jpg"])
        XCTAssertEqual(done.finishedAt, t0 + 9)
        XCTAssertThrowsError(try store.markQuarantined(jobs[0].id, reason: "x", now: t0)) {
            XCTAssertEqual("\($0)", "job \(jobs[0].id) is done; cannot quarantine it")
        }
        // A queued job can be quarantined before it runs.
        try store.markQuarantined(jobs[1].id, reason: "no video stream", now: t0 + 10)
        let bad = try XCTUnwrap(try store.job(jobs[1].id))
        XCTAssertEqual(bad.state, .quarantined)
        XCTAssertEqual(bad.lastError, "no video stream")
        XCTAssertEqual(bad.finishedAt, t0 + 10)
        XCTAssertNil(try store.claimNext(pid: livePID, now: t0 + 11))
    }

    // MARK: - Crash and shutdown

    func testExpiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let jobs = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0)
        let (short, shortClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 10, now: t0))
        let (long, longClaim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 100, now: t0))
        XCTAssertEqual(short.leaseUntil, t0 + 10)
        XCTAssertEqual(short.node, "a")
        XCTAssertEqual(shortClaim.fence, 1)
        XCTAssertTrue(try store.renewLease(shortClaim, lease: 10, now: t0 + 5))
        XCTAssertEqual(try store.job(short.id)?.leaseUntil, t0 + 15)

        XCTAssertEqual(try store.expireLeases(now: t0 + 14.9), 0)
        XCTAssertEqual(try store.expireLeases(now: t0 + 15.1), 1)
        let expired = try XCTUnwrap(try store.job(short.id))
        XCTAssertEqual(expired.state, .queued)
        XCTAssertEqual(expired.attempts, 1, "an attempt whose node died still counts")
        XCTAssertEqual(try store.job(long.id)?.state, .running)

        // Node a comes back: its claim is stale for renewing and for every outcome.
        XCTAssertFalse(try store.renewLease(shortClaim, lease: 10, now: t0 + 16))
        let (again, againClaim) = try XCTUnwrap(try store.claimNext(node: "c", pid: 3, lease: 10, now: t0 + 16))
        XCTAssertEqual(again.id, short.id)
        XCTAssertEqual(againClaim.fence, 2)
        XCTAssertThrowsError(try store.markDone(shortClaim, outputs: ["/out/x.mp4"], now: t0 + 17)) { error in
            XCTAssertEqual((error as? StaleClaim)?.currentFence, 2)
        }
        XCTAssertThrowsError(try store.markFailed(shortClaim, error: "x", maxAttempts: 3, now: t0 + 17))
        XCTAssertFalse(try store.release(shortClaim))
        try store.markDone(againClaim, outputs: ["/out/x.mp4"], now: t0 + 18)
        XCTAssertEqual(try store.job(short.id)?.outputs, ["/out/x.mp4"])
        XCTAssertEqual(try store.job(short.id)?.node, "c")
        _ = longClaim
        XCTAssertEqual(Set(jobs.map(\.id)).count, 3)
    }

    func testReleaseOnShutdownGivesTheAttemptBack() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let jobs = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0)
        let first = try XCTUnwrap(try store.claimNext(pid: 4242, now: t0))
        _ = try store.markFailed(first.id, error: "boom", maxAttempts: 5, now: t0)
        let (again, againClaim) = try XCTUnwrap(try store.claimNext(node: "n", pid: 4242, lease: 60, now: t0 + 30))
        XCTAssertEqual(again.id, first.id)
        XCTAssertEqual(again.attempts, 2)
        let (other, otherClaim) = try XCTUnwrap(try store.claimNext(node: "n", pid: 4242, lease: 60, now: t0 + 30))
        let foreign = try XCTUnwrap(try store.claimNext(pid: 4343, now: t0 + 30))
        XCTAssertEqual(Set([again.id, other.id, foreign.id]), Set(jobs.map(\.id)))

        XCTAssertTrue(try store.release(againClaim))
        XCTAssertTrue(try store.release(otherClaim))
        XCTAssertEqual(try store.job(again.id)?.attempts, 1)
        XCTAssertEqual(try store.job(other.id)?.attempts, 0)
        XCTAssertEqual(try store.job(again.id)?.state, .queued)
        XCTAssertNil(try store.job(other.id)?.workerPID)
        XCTAssertEqual(try store.job(foreign.id)?.state, .running)
        XCTAssertEqual(try store.job(foreign.id)?.attempts, 1)
        XCTAssertFalse(try store.release(otherClaim), "a released claim is stale")
    }

    // MARK: - Operator commands

    func testRetryRules() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let ids = try store.enqueue(identity("a.mkv"), watchFolder: "/w",
                                    kinds: [("k0", 0), ("k1", 1), ("k2", 2), ("k3", 3), ("k4", 4)], now: t0).map(\.id)
        // ids[0] done, ids[1] failed, ids[2] running, ids[3] quarantined, ids[4] cancelled.
        for _ in 0..<3 { _ = try store.claimNext(pid: livePID, now: t0) }
        try store.markDone(ids[0], outputs: ["/o"], now: t0)
        _ = try store.markFailed(ids[1], error: "boom", maxAttempts: 1, now: t0)
        try store.markQuarantined(ids[3], reason: "unreadable", now: t0)
        _ = try store.cancel(ids[4], now: Date())

        XCTAssertThrowsError(try store.retry(ids[0])) { XCTAssertEqual("\($0)", "job \(ids[0]) is done; nothing to retry") }
        XCTAssertThrowsError(try store.retry(ids[2])) { XCTAssertEqual("\($0)", "job \(ids[2]) is running; nothing to retry") }
        XCTAssertThrowsError(try store.retry(999)) { XCTAssertEqual("\($0)", "\(dbPath): no job 999") }
        for id in [ids[1], ids[3], ids[4]] {
            let job = try store.retry(id)
            XCTAssertEqual(job.state, .queued)
            XCTAssertEqual(job.attempts, 0)
            XCTAssertNil(job.notBefore)
            XCTAssertNil(job.lastError)
            XCTAssertNil(job.finishedAt)
        }
        XCTAssertEqual(try store.job(ids[0])?.state, .done)
        XCTAssertEqual(try store.job(ids[2])?.state, .running)

        // A queued job in backoff: retry drops the wait.
        let again = try XCTUnwrap(try store.claimNext(pid: livePID, now: t0))
        let backingOff = try store.markFailed(again.id, error: "boom", maxAttempts: 3, now: t0)
        XCTAssertEqual(backingOff.notBefore, t0 + 30)
        let now = try store.retry(again.id)
        XCTAssertEqual(now.state, .queued)
        XCTAssertEqual(now.attempts, 1)
        XCTAssertNil(now.notBefore)
        XCTAssertEqual(try store.claimNext(pid: livePID, now: t0 + 1)?.id, again.id)
    }

    func testCancelRules() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let ids = try store.enqueue(identity("a.mkv"), watchFolder: "/w",
                                    kinds: [("k0", 0), ("k1", 1), ("k2", 2), ("k3", 3), ("k4", 4)], now: t0).map(\.id)
        // ids[0] done, ids[1] failed, ids[2] running, ids[3] quarantined, ids[4] queued.
        for _ in 0..<3 { _ = try store.claimNext(pid: livePID, now: t0) }
        try store.markDone(ids[0], outputs: [], now: t0)
        _ = try store.markFailed(ids[1], error: "boom", maxAttempts: 1, now: t0)
        try store.markQuarantined(ids[3], reason: "unreadable", now: t0)

        XCTAssertThrowsError(try store.cancel(ids[0], now: Date())) { XCTAssertEqual("\($0)", "job \(ids[0]) is done; nothing to cancel") }
        XCTAssertThrowsError(try store.cancel(ids[3], now: Date())) {
            XCTAssertEqual("\($0)", "job \(ids[3]) is quarantined; nothing to cancel")
        }
        XCTAssertThrowsError(try store.isCancelled(999)) { XCTAssertEqual("\($0)", "\(dbPath): no job 999") }
        for id in [ids[1], ids[2], ids[4]] {
            XCTAssertFalse(try store.isCancelled(id))
            XCTAssertEqual(try store.cancel(id, now: Date()).state, .cancelled)
            XCTAssertTrue(try store.isCancelled(id))
        }
        XCTAssertEqual(try store.cancel(ids[4], now: Date()).state, .cancelled, "cancelling twice is harmless")
        XCTAssertFalse(try store.isCancelled(ids[0]))
        // The daemon's late outcome for a job cancelled under it is refused; cancelled stays.
        XCTAssertThrowsError(try store.markDone(ids[2], outputs: ["/o"], now: t0)) {
            XCTAssertEqual(($0 as? StaleClaim)?.state, .cancelled, "\($0)")
        }
        XCTAssertEqual(try store.expireLeases(now: .distantFuture), 0, "a cancelled job is not running any more")
        XCTAssertNil(try store.claimNext(pid: livePID, now: t0 + 1))
        XCTAssertEqual(try store.counts(), [.queued: 0, .running: 0, .waiting: 0, .done: 1, .failed: 0, .quarantined: 1, .cancelled: 3])
    }

    func testRemoveFinishedKeepsRowsWhoseInputIsStillThere() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let present = folder.appendingPathComponent("present.mkv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: present, contents: Data("x".utf8)))
        let gone = folder.appendingPathComponent("gone.mkv").path
        func input(_ path: String) -> InputIdentity { InputIdentity(path: path, size: 1, modified: 0, hash: "h") }
        let old = try store.enqueue(input(gone), watchFolder: "/w", kinds: [("a", 0), ("b", 1), ("c", 2), ("d", 3)], now: t0)
        let kept = try store.enqueue(input(present), watchFolder: "/w", kinds: [("a", 10)], now: t0)[0]
        for _ in 0..<4 { _ = try store.claimNext(pid: livePID, now: t0) }
        try store.markDone(old[0].id, outputs: [], now: t0 + 10)
        _ = try store.markFailed(old[1].id, error: "boom", maxAttempts: 1, now: t0 + 10)
        try store.markDone(old[2].id, outputs: [], now: t0 + 100)  // finished after the cutoff
        // old[3] stays running.
        _ = try store.claimNext(pid: livePID, now: t0)
        try store.markDone(kept.id, outputs: [], now: t0 + 10)

        XCTAssertEqual(try store.removeFinished(olderThan: t0 + 50), 2)
        XCTAssertEqual(Set(try store.jobs().map(\.id)), [old[2].id, old[3].id, kept.id])
        XCTAssertEqual(try store.enqueue(input(present), watchFolder: "/w", kinds: [("a", 10)], now: t0 + 200).count, 0)
        XCTAssertEqual(try store.removeFinished(olderThan: t0 + 50), 0)
    }

    // MARK: - Reading and durability

    func testListingIsNewestFirstAndFiltersByState() throws {
        let store = try SQLiteJobStore(path: dbPath)
        let a = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0)[0]
        let b = try store.enqueue(identity("b.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0 + 1)[0]
        let c = try store.enqueue(identity("c.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0 + 2)[0]
        _ = try store.claimNext(pid: livePID, now: t0 + 3)  // a
        XCTAssertEqual(try store.jobs().map(\.id), [c.id, b.id, a.id])
        XCTAssertEqual(try store.jobs(limit: 2).map(\.id), [c.id, b.id])
        XCTAssertEqual(try store.jobs(states: [.running]).map(\.id), [a.id])
        XCTAssertEqual(try store.jobs(states: [.queued, .running]).map(\.id), [c.id, b.id, a.id])
        XCTAssertEqual(try store.jobs(states: [.done]).map(\.id), [])
        XCTAssertEqual(try store.jobs(states: []).map(\.id), [])
    }

    func testAReopenedStoreSeesTheSameData() throws {
        var ids: [Int64] = []
        var before: [Job] = []
        do {
            let store = try SQLiteJobStore(path: dbPath)
            ids = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0).map(\.id)
            _ = try store.claimNext(pid: livePID, now: t0 + 1)
            try store.markDone(ids[0], outputs: ["/out/a short.mp4"], now: t0 + 2)
            _ = try store.claimNext(pid: deadPID, now: t0 + 3)
            before = try store.jobs()
        }
        let reopened = try SQLiteJobStore(path: dbPath)
        XCTAssertEqual(try reopened.jobs(), before)
        XCTAssertEqual(try reopened.job(ids[0])?.outputs, ["/out/a short.mp4"])
        XCTAssertEqual(try reopened.counts(), [.queued: 1, .running: 1, .waiting: 0, .done: 1, .failed: 0, .quarantined: 0, .cancelled: 0])
        XCTAssertEqual(try reopened.expireLeases(now: t0 + 3 + 61), 1)
        XCTAssertEqual(try reopened.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0).count, 0)
    }

    func testOpenErrorsNameThePath() throws {
        let blocker = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let path = blocker.appendingPathComponent("jobs.sqlite").path
        XCTAssertThrowsError(try SQLiteJobStore(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): "), "\(error)")
        }
    }

    // MARK: - Input identity

    func testInputIdentityHashesSampledContentNotTheModificationTime() throws {
        let file = folder.appendingPathComponent("big.mkv")
        let size: UInt64 = 64 << 20
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: size)  // sparse: zeros without writing 64 MiB
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data("matroska header".utf8))
        try handle.close()
        func poke(_ offset: UInt64, _ byte: UInt8) throws {
            let h = try FileHandle(forWritingTo: file)
            try h.seek(toOffset: offset)
            try h.write(contentsOf: Data([byte]))
            try h.close()
        }
        func setModified(_ seconds: Double) throws {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)],
                                                  ofItemAtPath: file.path)
        }

        try setModified(1_700_000_000)
        let original = try InputIdentity.of(path: file.path)
        XCTAssertEqual(original.path, file.path)
        XCTAssertEqual(original.size, Int64(size))
        XCTAssertEqual(original.modified, 1_700_000_000)
        XCTAssertEqual(original.hash.count, 32)
        XCTAssertEqual(try InputIdentity.of(path: file.path), original, "the same file reads the same")

        // Only the mtime changes: same hash.
        try setModified(1_700_000_500)
        let touched = try InputIdentity.of(path: file.path)
        XCTAssertEqual(touched.hash, original.hash)
        XCTAssertEqual(touched.modified, 1_700_000_500)

        // One byte in the middle: another hash. Put back: the first hash again.
        try poke(size / 2, 0x01)
        try setModified(1_700_000_000)
        let changed = try InputIdentity.of(path: file.path)
        XCTAssertNotEqual(changed.hash, original.hash)
        XCTAssertEqual(changed.size, original.size)
        XCTAssertEqual(changed.modified, original.modified)
        try poke(size / 2, 0x00)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, original.hash)

        // The last byte is sampled too; a byte between samples is not (documented limit).
        try poke(size - 1, 0x01)
        XCTAssertNotEqual(try InputIdentity.of(path: file.path).hash, original.hash)
        try poke(size - 1, 0x00)
        try poke(8 << 20, 0x01)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, original.hash)

        XCTAssertThrowsError(try InputIdentity.of(path: folder.appendingPathComponent("missing").path))
    }

    func testInputIdentityOfASmallFileHashesAllOfIt() throws {
        let file = folder.appendingPathComponent("small.ts")
        var bytes = [UInt8](repeating: 7, count: 100_000)
        try Data(bytes).write(to: file)
        let first = try InputIdentity.of(path: file.path)
        XCTAssertEqual(first.size, 100_000)
        bytes[12_345] = 8
        try Data(bytes).write(to: file)
        XCTAssertNotEqual(try InputIdentity.of(path: file.path).hash, first.hash)
        // Empty file: the hash of the size alone, stable.
        try Data().write(to: file)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, try InputIdentity.of(path: file.path).hash)
        XCTAssertEqual(try InputIdentity.of(path: file.path).size, 0)
    }
}

/// What the claiming threads saw, behind a lock.
private final class ClaimResults: @unchecked Sendable {
    private let lock = NSLock()
    private var claims: [(id: Int64, pid: Int32?)] = []
    private var errors: [String] = []

    func add(_ id: Int64, by pid: Int32?) { lock.withLock { claims.append((id, pid)) } }
    func add(_ error: Error) { lock.withLock { errors.append("\(error)") } }
    func snapshot() -> (claims: [(id: Int64, pid: Int32?)], errors: [String]) { lock.withLock { (claims, errors) } }
}
