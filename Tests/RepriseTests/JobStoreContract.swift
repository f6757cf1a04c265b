import Foundation
import XCTest
import RepriseJobs

/// What every job store engine must do, whatever keeps the data: enqueue rules, claim order and
/// exclusivity, leases and fencing, retries with backoff, crash and shutdown recovery, child jobs,
/// operator commands, nodes and watch holds. `SQLiteJobStoreTests` and `PostgresJobStoreTests`
/// run each of these against their engine, one explicit test method each.
final class JobStoreContract {
    /// A new store instance on the current test's data: every call opens the same data again, as
    /// another process (or node) would.
    private let makeStore: () throws -> any JobStore
    /// A scratch folder of the test's own (input files for `removeFinished`).
    private let folder: URL
    private let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    private let livePID = ProcessInfo.processInfo.processIdentifier
    /// No such process: Linux's pid_max is at most 4194304 and is usually far lower; macOS's is 99999.
    private let deadPID: Int32 = 999_999

    init(folder: URL, makeStore: @escaping () throws -> any JobStore) {
        self.folder = folder
        self.makeStore = makeStore
    }

    private func identity(_ name: String, hash: String = "00112233445566778899aabbccddeeff") -> InputIdentity {
        InputIdentity(path: "/watch/\(name)", size: 1000, modified: 1_700_000_000.5, hash: hash)
    }

    private let allKinds: [(kind: String, priority: Int)] =
        [("transcode:vertical-short", 10), ("ladder:default", 50), ("highlights:default", 20)]

    // MARK: - Plan overrides and reruns (the console's edits)

    func overridesAreVersionedPerRecordingAndTheNewestIsRead() throws {
        let store = try makeStore()
        XCTAssertNil(try store.latestOverride(recording: "/watch/a.mp4", hash: "h1"))
        XCTAssertEqual(try store.saveOverride(recording: "/watch/a.mp4", hash: "h1", body: #"{"windows":[[1,2]]}"#, now: t0), 1)
        XCTAssertEqual(try store.saveOverride(recording: "/watch/a.mp4", hash: "h1", body: #"{"windows":[[2,3]]}"#, now: t0 + 5), 2)
        // Another recording, and the same path with another content hash, have versions of their own.
        XCTAssertEqual(try store.saveOverride(recording: "/watch/b.mp4", hash: "h1", body: "{}", now: t0), 1)
        XCTAssertEqual(try store.saveOverride(recording: "/watch/a.mp4", hash: "h2", body: "{}", now: t0), 1)
        let newest = try XCTUnwrap(try makeStore().latestOverride(recording: "/watch/a.mp4", hash: "h1"))
        XCTAssertEqual(newest.version, 2)
        XCTAssertEqual(newest.body, #"{"windows":[[2,3]]}"#)
        // Saved over a version that is no longer the newest (an editor who read v1): refused, nothing saved.
        for stale in [1, nil] as [Int?] {
            XCTAssertThrowsError(try store.saveOverride(recording: "/watch/a.mp4", hash: "h1", body: "{}", over: stale, now: t0 + 6), "\(String(describing: stale))") {
                XCTAssertEqual(($0 as? OverrideConflict)?.newest, 2, "\($0)")
            }
        }
        XCTAssertEqual(try store.latestOverride(recording: "/watch/a.mp4", hash: "h1")?.version, 2)
        XCTAssertEqual(try store.saveOverride(recording: "/watch/a.mp4", hash: "h1", body: #"{"windows":[[4,5]]}"#, over: 2, now: t0 + 7), 3)
        XCTAssertEqual(try store.saveOverride(recording: "/watch/d.mp4", hash: "h1", body: "{}", over: nil, now: t0 + 7), 1, "over none yet")
        XCTAssertEqual(newest.createdAt.timeIntervalSince1970, (t0 + 5).timeIntervalSince1970, accuracy: 0.001)
        // Saved from several threads at once: every save gets its own version, none lost.
        let stores = [try makeStore(), try makeStore()]
        let results = ClaimResults(), finished = DispatchGroup(), now = t0
        for k in 0..<8 {
            let store = stores[k % 2]
            finished.enter()
            Thread {
                defer { finished.leave() }
                do { results.add(Int64(try store.saveOverride(recording: "/watch/c.mp4", hash: "h", body: "{\"k\":\(k)}", now: now)), by: nil) } catch {
                    results.add(error)
                }
            }.start()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success)
        let (versions, failures) = results.snapshot()
        XCTAssertTrue(failures.isEmpty, "\(failures)")
        XCTAssertEqual(versions.map(\.id).sorted(), Array(1...8), "each save its own version")
        XCTAssertEqual(try store.latestOverride(recording: "/watch/c.mp4", hash: "h")?.version, 8)
    }

    func rerunQueuesAFinishedJobAgainKeepingItsOutputs() throws {
        let store = try makeStore()
        let job = try XCTUnwrap(try store.enqueue(identity("r.mp4"), watchFolder: "/watch", kinds: [("highlights", 20)], now: t0).first)
        let (claimed, claim) = try XCTUnwrap(try store.claimNext(node: "n", pid: livePID, lease: 60, now: t0))
        XCTAssertEqual(claimed.id, job.id)
        XCTAssertThrowsError(try store.rerun(job.id), "a running job can't run again until it ends")
        try store.markDone(claim, outputs: ["/out/r.reel.mp4"], now: t0 + 10)
        let again = try store.rerun(job.id)
        XCTAssertEqual(again.state, .queued)
        XCTAssertEqual(again.attempts, 0)
        XCTAssertNil(again.finishedAt)
        XCTAssertEqual(again.outputs, ["/out/r.reel.mp4"], "the old outputs stay until new ones replace them")
        let (second, secondClaim) = try XCTUnwrap(try store.claimNext(node: "n", pid: livePID, lease: 60, now: t0 + 20))
        XCTAssertEqual(second.id, job.id)
        XCTAssertGreaterThan(secondClaim.fence, claim.fence, "a new claim, so the first attempt's claim is stale")
        XCTAssertThrowsError(try store.markDone(claim, outputs: [], now: t0 + 21)) { XCTAssertTrue($0 is StaleClaim) }
        try store.markDone(secondClaim, outputs: ["/out/r.reel.mp4"], now: t0 + 30)
        XCTAssertEqual(try store.job(job.id)?.state, .done)
        XCTAssertThrowsError(try store.rerun(99_999))
    }

    // MARK: - Enqueue

    func enqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() throws {
        let store = try makeStore()
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

    func aChangedHashCreatesNewJobs() throws {
        let store = try makeStore()
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

    func claimTakesLowestPriorityFirstThenOldest() throws {
        let store = try makeStore()
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

    func claimIsExclusiveAcrossThreadsAndStoreInstances() throws {
        let stores = [try makeStore(), try makeStore()]
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

    func claimRespectsNotBefore() throws {
        let store = try makeStore()
        let job = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("ladder:default", 0)], now: t0)[0]
        _ = try XCTUnwrap(try store.claimNext(pid: livePID, now: t0))
        let failed = try store.markFailed(job.id, error: "encoder died", maxAttempts: 3, now: t0 + 5)
        XCTAssertEqual(failed.notBefore, t0 + 35)
        XCTAssertNil(try store.claimNext(pid: livePID, now: t0 + 34.9))
        XCTAssertEqual(try store.claimNext(pid: livePID, now: t0 + 35)?.id, job.id)
    }

    // MARK: - Failure and backoff

    func markFailedBacksOffThenFailsAtMaxAttempts() throws {
        XCTAssertEqual((1...9).map { JobBackoff.after(attempts: $0) }, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        let store = try makeStore()
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

    func markDoneAndQuarantined() throws {
        let store = try makeStore()
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

    func expiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() throws {
        let store = try makeStore()
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
        XCTAssertThrowsError(try store.markFailed(shortClaim, error: "x", maxAttempts: 3, now: t0 + 17)) { error in
            XCTAssertEqual(error as? StaleClaim, StaleClaim(claim: shortClaim, currentFence: 2, state: .running))
        }
        XCTAssertThrowsError(try store.split(shortClaim, into: [JobDraft(kind: "chunk:x", priority: 0, payload: "{}")], now: t0 + 17)) {
            XCTAssertEqual(($0 as? StaleClaim)?.currentFence, 2, "\($0)")
        }
        XCTAssertEqual(try store.children(of: short.id), [], "a refused split adds no children")
        XCTAssertFalse(try store.release(shortClaim))
        XCTAssertEqual(try store.job(short.id)?.state, .running, "the refused outcomes changed nothing")
        XCTAssertEqual(try store.job(short.id)?.node, "c")
        try store.markDone(againClaim, outputs: ["/out/x.mp4"], now: t0 + 18)
        XCTAssertEqual(try store.job(short.id)?.outputs, ["/out/x.mp4"])
        XCTAssertEqual(try store.job(short.id)?.node, "c")
        _ = longClaim
        XCTAssertEqual(Set(jobs.map(\.id)).count, 3)
    }

    /// A job whose node dies on every attempt: its lease expires, it comes back, until its last
    /// attempt's lease expires; then it fails, saying so, and stays failed. A part that fails so
    /// fails its whole job and cancels its queued siblings, as `markFailed` does.
    func anExpiredLeaseOnTheLastAttemptFailsTheJob() throws {
        let store = try makeStore()
        let id = try store.enqueue(identity("crashy.mkv"), watchFolder: "/w", kinds: [("transcode:x", 10)], now: t0)[0].id
        var t = t0
        for attempt in 1...3 {
            let (job, _) = try XCTUnwrap(try store.claimNext(node: "n\(attempt)", pid: Int32(attempt), lease: 10, now: t), "attempt \(attempt)")
            XCTAssertEqual(job.id, id)
            XCTAssertEqual(job.attempts, attempt)
            XCTAssertEqual(try store.expireLeases(now: t + 9, maxAttempts: 3), 0, "the lease still holds")
            XCTAssertEqual(try store.expireLeases(now: t + 11, maxAttempts: 3), 1)
            t += 20
            let after = try XCTUnwrap(try store.job(id))
            if attempt < 3 {
                XCTAssertEqual(after.state, .queued, "attempt \(attempt)")
                XCTAssertNil(after.notBefore, "a dead node's job comes back at once")
            } else {
                XCTAssertEqual(after.state, .failed)
                XCTAssertEqual(after.lastError, "lease expired on node n3 after 3 attempts")
                XCTAssertEqual(after.finishedAt, t0 + 40 + 11)
                XCTAssertNil(after.leaseUntil)
            }
        }
        XCTAssertNil(try store.claimNext(node: "n4", pid: 4, lease: 10, now: t + 10_000), "a failed job is not claimed again")
        XCTAssertEqual(try store.expireLeases(now: .distantFuture, maxAttempts: 3), 0)
        // Without a limit (the old call) an expired lease always re-queues.
        let other = try store.enqueue(identity("other.mkv"), watchFolder: "/w", kinds: [("transcode:x", 10)], now: t)[0].id
        _ = try XCTUnwrap(try store.claimNext(node: "n5", pid: 5, lease: 10, now: t))
        XCTAssertEqual(try store.expireLeases(now: t + 11), 1)
        XCTAssertEqual(try store.job(other)?.state, .queued)

        // A part on its last attempt fails its whole job; its queued siblings are cancelled.
        let parentID = try store.enqueue(identity("long.mkv"), watchFolder: "/w", kinds: [("transcode:long", 0)], now: t)[0].id
        let (_, parentClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 60, now: t))
        let children = try store.split(parentClaim, into: chunkedDrafts(), now: t)
        let (c0, _) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 10, now: t))
        XCTAssertEqual(c0.id, children[0].id)
        XCTAssertEqual(try store.expireLeases(now: t + 11, maxAttempts: 1), 1)
        XCTAssertEqual(try store.job(c0.id)?.lastError, "lease expired on node b after 1 attempt")
        XCTAssertEqual(try store.children(of: parentID).map(\.state), [.failed, .cancelled, .cancelled, .cancelled])
        let parent = try XCTUnwrap(try store.job(parentID))
        XCTAssertEqual(parent.state, .failed)
        XCTAssertEqual(parent.lastError, "part chunk:transcode:long failed: lease expired on node b after 1 attempt")
    }

    func releaseOnShutdownGivesTheAttemptBack() throws {
        let store = try makeStore()
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

    func retryRules() throws {
        let store = try makeStore()
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
        XCTAssertThrowsError(try store.retry(999)) { XCTAssertEqual("\($0)", "\(store.location): no job 999") }
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

    func cancelRules() throws {
        let store = try makeStore()
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
        XCTAssertThrowsError(try store.isCancelled(999)) { XCTAssertEqual("\($0)", "\(store.location): no job 999") }
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

    func removeFinishedKeepsRowsWhoseInputIsStillThere() throws {
        let store = try makeStore()
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

    func listingIsNewestFirstAndFiltersByState() throws {
        let store = try makeStore()
        let a = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0)[0]
        let b = try store.enqueue(identity("b.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0 + 1)[0]
        let c = try store.enqueue(identity("c.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0 + 2)[0]
        _ = try store.claimNext(pid: livePID, now: t0 + 3)  // a
        XCTAssertEqual(try store.jobs().map(\.id), [c.id, b.id, a.id])
        XCTAssertEqual(try store.jobs(states: nil, limit: 2).map(\.id), [c.id, b.id])
        XCTAssertEqual(try store.jobs(states: [.running]).map(\.id), [a.id])
        XCTAssertEqual(try store.jobs(states: [.queued, .running]).map(\.id), [c.id, b.id, a.id])
        XCTAssertEqual(try store.jobs(states: [.done]).map(\.id), [])
        XCTAssertEqual(try store.jobs(states: []).map(\.id), [])
    }

    func aReopenedStoreSeesTheSameData() throws {
        var ids: [Int64] = []
        var before: [Job] = []
        do {
            let store = try makeStore()
            ids = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0).map(\.id)
            _ = try store.claimNext(pid: livePID, now: t0 + 1)
            try store.markDone(ids[0], outputs: ["/out/a short.mp4"], now: t0 + 2)
            _ = try store.claimNext(pid: deadPID, now: t0 + 3)
            before = try store.jobs()
        }
        let reopened = try makeStore()
        XCTAssertEqual(try reopened.jobs(), before)
        XCTAssertEqual(try reopened.job(ids[0])?.outputs, ["/out/a short.mp4"])
        XCTAssertEqual(try reopened.counts(), [.queued: 1, .running: 1, .waiting: 0, .done: 1, .failed: 0, .quarantined: 0, .cancelled: 0])
        XCTAssertEqual(try reopened.expireLeases(now: t0 + 3 + 61), 1)
        XCTAssertEqual(try reopened.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: allKinds, now: t0).count, 0)
    }

    // MARK: - Leases

    func renewLeaseExtendsOnlyTheCurrentClaim() throws {
        let store = try makeStore()
        let id = try store.enqueue(identity("a.mkv"), watchFolder: "/w", kinds: [("k", 0)], now: t0)[0].id
        let (job, claim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 30, now: t0))
        XCTAssertEqual(job.id, id)
        XCTAssertEqual(job.leaseUntil, t0 + 30)
        XCTAssertTrue(try store.renewLease(claim, lease: 30, now: t0 + 20))
        XCTAssertEqual(try store.job(id)?.leaseUntil, t0 + 50)
        XCTAssertEqual(try store.expireLeases(now: t0 + 40), 0, "the renewed lease holds past the first deadline")
        // A token the job never had, or another job's, renews nothing.
        XCTAssertFalse(try store.renewLease(Claim(jobID: id, fence: claim.fence + 1, node: "a"), lease: 30, now: t0 + 21))
        XCTAssertFalse(try store.renewLease(Claim(jobID: id + 1000, fence: claim.fence, node: "a"), lease: 30, now: t0 + 21))
        XCTAssertEqual(try store.job(id)?.leaseUntil, t0 + 50)
        // Cancelled under the node: its next renewal says stop.
        _ = try store.cancel(id, now: t0 + 22)
        XCTAssertFalse(try store.renewLease(claim, lease: 30, now: t0 + 23))
        XCTAssertEqual(try store.job(id)?.state, .cancelled)
    }

    // MARK: - Child jobs

    /// Two chunks and an audio part, then a stitch that needs all three and finishes the parent.
    private func chunkedDrafts(stitchPriority: Int = 0) -> [JobDraft] {
        [JobDraft(kind: "chunk:transcode:long", priority: 5, payload: #"{"chunk":0}"#),
         JobDraft(kind: "chunk:transcode:long", priority: 5, payload: #"{"chunk":1}"#),
         JobDraft(kind: "audio:transcode:long", priority: 5, payload: #"{"audio":true}"#),
         JobDraft(kind: "stitch:transcode:long", priority: stitchPriority, payload: #"{"stitch":[0,1]}"#,
                  needs: [0, 1, 2], completesParent: true)]
    }

    func splitChildrenWaitForWhatTheyNeedAndTheStitchFinishesTheParent() throws {
        let store = try makeStore()
        let parentID = try store.enqueue(identity("long.mkv"), watchFolder: "/w", kinds: [("transcode:long", 10)], now: t0)[0].id
        let (parent, parentClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 60, now: t0))
        XCTAssertEqual(parent.id, parentID)

        // A draft that needs one drafted after it is refused whole.
        XCTAssertThrowsError(try store.split(parentClaim, into: [JobDraft(kind: "stitch", priority: 0, payload: "", needs: [1]),
                                                                 JobDraft(kind: "chunk", priority: 0, payload: "")], now: t0)) {
            XCTAssertEqual("\($0)", "job \(parentID): part 0 (stitch) needs a part that is not drafted before it")
        }
        XCTAssertEqual(try store.children(of: parentID), [])
        XCTAssertEqual(try store.job(parentID)?.state, .running)

        let children = try store.split(parentClaim, into: chunkedDrafts(), now: t0 + 1)
        XCTAssertEqual(children.map(\.kind), ["chunk:transcode:long", "chunk:transcode:long", "audio:transcode:long", "stitch:transcode:long"])
        XCTAssertEqual(try store.children(of: parentID), children, "what split returns is what is stored, in draft order")
        for child in children {
            XCTAssertEqual(child.parentID, parentID)
            XCTAssertEqual(child.state, .queued)
            XCTAssertEqual(child.input, parent.input)
            XCTAssertEqual(child.watchFolder, "/w")
            XCTAssertEqual(child.createdAt, t0 + 1)
            XCTAssertEqual(child.attempts, 0)
        }
        XCTAssertEqual(children[1].payload, #"{"chunk":1}"#)
        XCTAssertEqual(children[3].needs, [children[0].id, children[1].id, children[2].id])
        XCTAssertEqual(children[3].completesParent, true)
        XCTAssertEqual(children[0].completesParent, false)
        let waiting = try XCTUnwrap(try store.job(parentID))
        XCTAssertEqual(waiting.state, .waiting)
        XCTAssertNil(waiting.leaseUntil)
        XCTAssertEqual(try store.expireLeases(now: .distantFuture), 0, "a waiting parent holds no lease")
        // The parent's claim is spent.
        XCTAssertThrowsError(try store.markDone(parentClaim, outputs: [], now: t0 + 2)) {
            XCTAssertEqual(($0 as? StaleClaim)?.state, .waiting, "\($0)")
        }

        // The stitch has the lowest priority number, yet it waits for its parts.
        var claims: [Int64: Claim] = [:]
        for _ in 0..<3 {
            let (job, claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 2))
            claims[job.id] = claim
        }
        XCTAssertEqual(Set(claims.keys), Set(children[0...2].map(\.id)))
        XCTAssertNil(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 2), "the stitch waits for its parts")
        try store.markDone(claims[children[0].id]!, outputs: ["/work/c0.mp4"], now: t0 + 3)
        try store.markDone(claims[children[1].id]!, outputs: ["/work/c1.mp4"], now: t0 + 3)
        XCTAssertNil(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 3), "one part is still running")
        XCTAssertEqual(try store.job(parentID)?.state, .waiting, "a part that does not complete the parent leaves it waiting")
        try store.markDone(claims[children[2].id]!, outputs: ["/work/a.m4a"], now: t0 + 4)
        let (stitch, stitchClaim) = try XCTUnwrap(try store.claimNext(node: "c", pid: 3, lease: 60, now: t0 + 4))
        XCTAssertEqual(stitch.id, children[3].id)
        try store.markDone(stitchClaim, outputs: ["/out/long.mp4", "/out/long.jpg"], now: t0 + 5)

        let done = try XCTUnwrap(try store.job(parentID))
        XCTAssertEqual(done.state, .done)
        XCTAssertEqual(done.outputs, ["/out/long.mp4", "/out/long.jpg"])
        XCTAssertEqual(done.finishedAt, t0 + 5)
        XCTAssertEqual(try store.children(of: parentID).map(\.state), [.done, .done, .done, .done])
        XCTAssertEqual(try store.counts()[.done], 5)
        XCTAssertNil(try store.claimNext(node: "c", pid: 3, lease: 60, now: t0 + 6))
    }

    func aChildOutOfAttemptsFailsTheParentAndRetryRunsEveryChildAgain() throws {
        let store = try makeStore()
        let parentID = try store.enqueue(identity("long.mkv"), watchFolder: "/w", kinds: [("transcode:long", 10)], now: t0)[0].id
        let (_, parentClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 60, now: t0))
        let children = try store.split(parentClaim, into: chunkedDrafts(), now: t0)
        // Chunk 0 and the audio run; chunk 1 stays queued.
        let (c0, c0Claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        let (c1, c1Claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        let (audio, audioClaim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        XCTAssertEqual([c0.id, c1.id, audio.id], [children[0].id, children[1].id, children[2].id])
        try store.markDone(c1Claim, outputs: ["/work/c1.mp4"], now: t0 + 1)
        _ = try store.release(audioClaim)  // back to queued, as at a node's shutdown

        let failed = try store.markFailed(c0Claim, error: "encoder died", maxAttempts: 1, now: t0 + 2)
        XCTAssertEqual(failed.state, .failed)
        let parent = try XCTUnwrap(try store.job(parentID))
        XCTAssertEqual(parent.state, .failed)
        XCTAssertEqual(parent.lastError, "part chunk:transcode:long failed: encoder died")
        XCTAssertEqual(parent.finishedAt, t0 + 2)
        XCTAssertEqual(try store.children(of: parentID).map(\.state), [.failed, .done, .cancelled, .cancelled],
                       "queued siblings are cancelled; a finished one stays done")
        XCTAssertNil(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 10_000))

        let retried = try store.retry(parentID)
        XCTAssertEqual(retried.state, .waiting)
        XCTAssertNil(retried.lastError)
        XCTAssertNil(retried.finishedAt)
        let again = try store.children(of: parentID)
        XCTAssertEqual(again.map(\.state), [.queued, .queued, .queued, .queued],
                       "a finished part runs again too: its file went with the failed job")
        XCTAssertEqual(again.map(\.attempts), [0, 0, 0, 0])
        XCTAssertEqual(again[1].outputs, [], "the finished part's old output is forgotten")
        // The graph runs again, the stitch last.
        var order: [Int64] = []
        while let next = try store.claimNext(node: "c", pid: 3, lease: 60, now: t0 + 20) {
            let (job, claim) = next
            order.append(job.id)
            try store.markDone(claim, outputs: job.completesParent ? ["/out/long.mp4"] : ["/work/\(job.id)"], now: t0 + 21)
        }
        XCTAssertEqual(order, [children[0].id, children[1].id, children[2].id, children[3].id])
        XCTAssertEqual(try store.job(parentID)?.state, .done)
        XCTAssertEqual(try store.job(parentID)?.outputs, ["/out/long.mp4"])
    }

    func cancellingTheParentCancelsItsChildren() throws {
        let store = try makeStore()
        let parentID = try store.enqueue(identity("long.mkv"), watchFolder: "/w", kinds: [("transcode:long", 10)], now: t0)[0].id
        let (_, parentClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 60, now: t0))
        let children = try store.split(parentClaim, into: chunkedDrafts(), now: t0)
        let (c0, c0Claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        let (_, c1Claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        try store.markDone(c1Claim, outputs: ["/work/c1.mp4"], now: t0 + 1)
        XCTAssertEqual(c0.id, children[0].id)

        let cancelled = try store.cancel(parentID, now: t0 + 2)
        XCTAssertEqual(cancelled.state, .cancelled)
        XCTAssertEqual(try store.children(of: parentID).map(\.state), [.cancelled, .done, .cancelled, .cancelled])
        XCTAssertTrue(try store.isCancelled(c0.id))
        // The node running chunk 0 learns it at its next renewal, and its outcome is refused.
        XCTAssertFalse(try store.renewLease(c0Claim, lease: 60, now: t0 + 3))
        XCTAssertThrowsError(try store.markDone(c0Claim, outputs: ["/work/c0.mp4"], now: t0 + 3)) {
            XCTAssertEqual(($0 as? StaleClaim)?.state, .cancelled, "\($0)")
        }
        XCTAssertNil(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 4))
        XCTAssertEqual(try store.job(parentID)?.state, .cancelled)
    }

    /// An operator cancelling one part cancels the whole job: the stitch would otherwise wait for
    /// that part forever, and the parent with it.
    func cancellingAPartCancelsItsWholeJob() throws {
        let store = try makeStore()
        let parentID = try store.enqueue(identity("long.mkv"), watchFolder: "/w", kinds: [("transcode:long", 10)], now: t0)[0].id
        let (_, parentClaim) = try XCTUnwrap(try store.claimNext(node: "a", pid: 1, lease: 60, now: t0))
        let children = try store.split(parentClaim, into: chunkedDrafts(), now: t0)
        let (_, c0Claim) = try XCTUnwrap(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0))
        try store.markDone(c0Claim, outputs: ["/work/c0.mp4"], now: t0 + 1)

        let part = try store.cancel(children[1].id, now: t0 + 2)
        XCTAssertEqual(part.id, children[1].id, "cancel answers with the job asked for")
        XCTAssertEqual(part.state, .cancelled)
        XCTAssertEqual(try store.job(parentID)?.state, .cancelled)
        XCTAssertEqual(try store.children(of: parentID).map(\.state), [.done, .cancelled, .cancelled, .cancelled])
        XCTAssertNil(try store.claimNext(node: "b", pid: 2, lease: 60, now: t0 + 3))
    }

    // MARK: - Nodes and watch holds

    func heartbeatsRecordNodesAndOldOnesDropOut() throws {
        let store = try makeStore()
        let a = NodeStatus(name: "node-a", host: "alpha", pid: 11, role: "worker", load: 1.25, running: [3, 4], watching: [],
                           startedAt: t0, seenAt: t0 + 1,
                           progress: [JobProgressReport(job: 3, stage: "encoding \"main\" 1/2", fraction: 0.375, startedAt: t0 - 30,
                                                        stageStartedAt: t0 - 12.5)])
        let b = NodeStatus(name: "node-b", host: "beta", pid: 22, role: "watcher", load: 0.5, running: [],
                           watching: ["/watch/room 1", "/watch/room2"], startedAt: t0, seenAt: t0 + 10)
        try store.heartbeat(b)
        try store.heartbeat(a)
        XCTAssertEqual(try store.nodes(seenSince: t0), [a, b], "by name, every field as sent")
        XCTAssertEqual(try store.nodes(seenSince: t0 + 5), [b])
        XCTAssertEqual(try store.nodes(seenSince: t0 + 10), [b], "seen exactly at the bound counts")
        XCTAssertEqual(try store.nodes(seenSince: t0 + 11), [])
        // A later heartbeat replaces the node's row.
        var later = a
        later.seenAt = t0 + 20
        later.running = [5]
        later.load = 3
        later.progress = []
        try store.heartbeat(later)
        XCTAssertEqual(try store.nodes(seenSince: t0), [later, b])
        XCTAssertEqual(try makeStore().nodes(seenSince: t0 + 15), [later], "another instance reads the same")
    }

    func aWatchFolderIsHeldByOneHolderAtATime() throws {
        let first = try makeStore(), second = try makeStore()
        let hold = try XCTUnwrap(try first.holdWatch("/watch/room1", node: "a"))
        XCTAssertEqual(hold.folder, "/watch/room1")
        XCTAssertTrue(hold.isHeld)
        XCTAssertNil(try second.holdWatch("/watch/room1", node: "b"), "a standby while the first holder lives")
        XCTAssertNil(try first.holdWatch("/watch/room1", node: "a2"), "one holder, even on the same store instance")
        let other = try XCTUnwrap(try second.holdWatch("/watch/room2", node: "b"), "another folder is another hold")
        XCTAssertTrue(other.isHeld)

        hold.release()
        XCTAssertFalse(hold.isHeld)
        let taken = try XCTUnwrap(try second.holdWatch("/watch/room1", node: "b"), "free once released")
        XCTAssertTrue(taken.isHeld)
        XCTAssertNil(try first.holdWatch("/watch/room1", node: "a"))
        taken.release()
        other.release()
        hold.release()  // twice is harmless
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
