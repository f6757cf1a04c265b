import Foundation
import XCTest
import RepriseJobs
@testable import RepriseJobsPostgres

/// The job store contract (`JobStoreContract`) on a real PostgreSQL server of the tests' own
/// (`ThrowawayPostgres`, one per class run, a fresh database per test), plus what only the
/// PostgreSQL engine has: URLs and passwords, sockets, sessions that die, several nodes migrating
/// at once.
final class PostgresJobStoreTests: XCTestCase {
    /// The server, started once for the class; a start failure fails every test with its message.
    nonisolated(unsafe) private static var server: Result<ThrowawayPostgres, Error>?
    private var server: ThrowawayPostgres!
    private var database: String!
    private var folder: URL!
    private var contract: JobStoreContract!

    override class func setUp() {
        super.setUp()
        server = Result { try ThrowawayPostgres.start() }
    }

    override class func tearDown() {
        if case .success(let server)? = server { server.stop() }
        server = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        server = try XCTUnwrap(Self.server, "the class's server was not started").get()
        database = try server.createDatabase()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (server, database) = (server!, database!)
        contract = JobStoreContract(folder: folder) { try server.store(database) }
    }

    override func tearDownWithError() throws {
        contract = nil
        try? FileManager.default.removeItem(at: folder)
    }

    func testEnqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() throws { try contract.enqueueCreatesOneJobPerKindAndNeverTwiceForTheSameIdentity() }
    func testOverridesAreVersionedPerRecordingAndTheNewestIsRead() throws { try contract.overridesAreVersionedPerRecordingAndTheNewestIsRead() }
    func testRerunQueuesAFinishedJobAgainKeepingItsOutputs() throws { try contract.rerunQueuesAFinishedJobAgainKeepingItsOutputs() }
    func testAChangedHashCreatesNewJobs() throws { try contract.aChangedHashCreatesNewJobs() }
    func testClaimTakesLowestPriorityFirstThenOldest() throws { try contract.claimTakesLowestPriorityFirstThenOldest() }
    func testClaimIsExclusiveAcrossThreadsAndStoreInstances() throws { try contract.claimIsExclusiveAcrossThreadsAndStoreInstances() }
    func testClaimRespectsNotBefore() throws { try contract.claimRespectsNotBefore() }
    func testMarkFailedBacksOffThenFailsAtMaxAttempts() throws { try contract.markFailedBacksOffThenFailsAtMaxAttempts() }
    func testMarkDoneAndQuarantined() throws { try contract.markDoneAndQuarantined() }
    func testExpiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() throws { try contract.expiredLeasesGoBackToTheQueueAndTheirClaimsTurnStale() }
    func testAnExpiredLeaseOnTheLastAttemptFailsTheJob() throws { try contract.anExpiredLeaseOnTheLastAttemptFailsTheJob() }
    func testReleaseOnShutdownGivesTheAttemptBack() throws { try contract.releaseOnShutdownGivesTheAttemptBack() }
    func testRetryRules() throws { try contract.retryRules() }
    func testCancelRules() throws { try contract.cancelRules() }
    func testRemoveFinishedKeepsRowsWhoseInputIsStillThere() throws { try contract.removeFinishedKeepsRowsWhoseInputIsStillThere() }
    func testListingIsNewestFirstAndFiltersByState() throws { try contract.listingIsNewestFirstAndFiltersByState() }
    func testAReopenedStoreSeesTheSameData() throws { try contract.aReopenedStoreSeesTheSameData() }
    func testRenewLeaseExtendsOnlyTheCurrentClaim() throws { try contract.renewLeaseExtendsOnlyTheCurrentClaim() }
    func testSplitChildrenWaitForWhatTheyNeedAndTheStitchFinishesTheParent() throws { try contract.splitChildrenWaitForWhatTheyNeedAndTheStitchFinishesTheParent() }
    func testAChildOutOfAttemptsFailsTheParentAndRetryRunsEveryChildAgain() throws { try contract.aChildOutOfAttemptsFailsTheParentAndRetryRunsEveryChildAgain() }
    func testCancellingTheParentCancelsItsChildren() throws { try contract.cancellingTheParentCancelsItsChildren() }
    func testCancellingAPartCancelsItsWholeJob() throws { try contract.cancellingAPartCancelsItsWholeJob() }
    func testHeartbeatsRecordNodesAndOldOnesDropOut() throws { try contract.heartbeatsRecordNodesAndOldOnesDropOut() }
    func testAWatchFolderIsHeldByOneHolderAtATime() throws { try contract.aWatchFolderIsHeldByOneHolderAtATime() }

    // MARK: - PostgreSQL only

    func testStoreURLsNameHostPortDatabaseAndRefuseAPassword() throws {
        let tcp = try PostgresStoreURL("postgres://alice@db.example:6543/jobs?sslmode=require")
        XCTAssertEqual(tcp, PostgresStoreURL(user: "alice", host: "db.example", socketFolder: nil, port: 6543, database: "jobs", tls: .require))
        XCTAssertEqual(tcp.display, "postgres://alice@db.example:6543/jobs")
        XCTAssertEqual(try PostgresStoreURL("postgresql://bob@10.0.0.5/q").display, "postgres://bob@10.0.0.5:5432/q")
        XCTAssertEqual(try PostgresStoreURL("postgresql://bob@10.0.0.5/q").tls, .prefer, "libpq's default")
        let socket = try PostgresStoreURL("postgres://carol@/jobs?host=/run/postgresql")
        XCTAssertEqual(socket.socketFolder, "/run/postgresql")
        XCTAssertNil(socket.host)
        XCTAssertEqual(socket.socketPath, "/run/postgresql/.s.PGSQL.5432")
        XCTAssertEqual(socket.display, "postgres://carol@/jobs?host=/run/postgresql")

        XCTAssertThrowsError(try PostgresStoreURL("postgres://alice:s3cret@db.example:6543/jobs")) {
            XCTAssertEqual("\($0)", "postgres://alice@db.example:6543/jobs: a password in the store URL is refused (it would sit in the YAML and the logs); set PGPASSWORD or use a passfile (PGPASSFILE, ~/.pgpass)")
        }
        XCTAssertThrowsError(try PostgresStoreURL("postgres://alice:s3cret@db.example:6543/jobs?sslmode=sometimes")) {
            XCTAssertFalse("\($0)".contains("s3cret"), "\($0)")
            XCTAssertTrue("\($0)".hasSuffix("sslmode 'sometimes' is not one of disable, prefer, require, verify-ca, verify-full"), "\($0)")
        }
        XCTAssertThrowsError(try PostgresStoreURL("postgres://db.example/jobs")) {
            XCTAssertEqual("\($0)", "postgres://db.example/jobs: no user (postgres://USER@host/db)")
        }
        XCTAssertThrowsError(try PostgresStoreURL("postgres://alice@db.example")) {
            XCTAssertEqual("\($0)", "postgres://alice@db.example: no database name (postgres://user@host/DB)")
        }
    }

    func testCallTimeoutComesFromTheURL() throws {
        XCTAssertEqual(try PostgresStoreURL("postgres://alice@db.example/jobs").callTimeout, 10, "the default")
        XCTAssertEqual(try PostgresStoreURL("postgres://alice@db.example/jobs?call_timeout=2.5").callTimeout, 2.5)
        XCTAssertEqual(try PostgresStoreURL("postgres://alice@db.example/jobs?call_timeout=2.5").display, "postgres://alice@db.example:5432/jobs")
        for bad in ["0", "-1", "soon", "nan", "99999"] {
            XCTAssertThrowsError(try PostgresStoreURL("postgres://alice@db.example/jobs?call_timeout=\(bad)")) {
                XCTAssertEqual("\($0)", "postgres://alice@db.example/jobs?call_timeout=\(bad): call_timeout '\(bad)' is not a number of seconds from 0.1 to 3600")
            }
        }
    }

    /// A server that stops answering (every process of it SIGSTOPped: sockets open, nothing
    /// replies) fails each call within the store's time limit, whether the call had a connection
    /// already or needs a new one; once the server answers again (SIGCONT), the same store
    /// works, on fresh connections.
    func testACallToAServerThatStoppedAnsweringFailsWithinItsLimitAndTheStoreRecovers() throws {
        let server = try ThrowawayPostgres.start()
        defer { server.stop() }
        let database = try server.createDatabase()
        var url = try PostgresStoreURL(server.url(database))
        url.callTimeout = 2
        let store = try PostgresJobStore(url: url, password: server.password)
        XCTAssertEqual(store.callTimeout, 2)
        let id = try store.enqueue(InputIdentity(path: "/w/a.mp4", size: 1, modified: 0, hash: "h"), watchFolder: "/w",
                                   kinds: [("transcode:x", 1)], now: Date())[0].id
        let stopped = server.pause()
        XCTAssertGreaterThan(stopped.count, 1, "the postmaster and its backends")
        var resumed = false
        defer { if !resumed { server.resume(stopped) } }

        // The first call finds the pooled connection (its backend stopped); the next needs a new
        // one, which the stopped postmaster never completes.
        for call in ["on the pooled connection", "on a new connection"] {
            let asked = Date()
            XCTAssertThrowsError(try store.claimNext(node: "n", pid: 1, lease: 30, now: Date()), call) {
                XCTAssertTrue($0 is JobStoreError, "\($0)")
                XCTAssertEqual("\($0)", "\(store.location): no answer within 2 s: the call timed out; its connection was closed and is replaced", call)
            }
            let took = Date().timeIntervalSince(asked)
            XCTAssertGreaterThanOrEqual(took, 1.9, call)
            XCTAssertLessThan(took, 3.5, "\(call): took \(took) s")
        }
        // Taking a watch hold (a session of its own) fails in time too.
        let holding = Date()
        XCTAssertThrowsError(try store.holdWatch("/w", node: "n")) {
            XCTAssertEqual("\($0)", "\(store.location): cannot take the watch of /w: no answer within 2 s; the call timed out and its connection was closed")
        }
        XCTAssertLessThan(Date().timeIntervalSince(holding), 3.5)
        // Opening a store on a silent server fails in time too.
        let opening = Date()
        XCTAssertThrowsError(try PostgresJobStore(url: url, password: server.password)) {
            XCTAssertEqual("\($0)", "\(store.location): cannot open the job store: no answer within 2 s: the server does not answer")
        }
        XCTAssertLessThan(Date().timeIntervalSince(opening), 3.5)

        server.resume(stopped)
        resumed = true
        // What the timed-out calls began may still reach the server (a claim nobody holds expires
        // with its lease); the store answers again.
        XCTAssertTrue(pollUntil(timeout: 15, every: 0.2) { (try? store.counts()) != nil }, "the store never answered again")
        _ = try store.expireLeases(now: .distantFuture)
        let (job, claim) = try XCTUnwrap(try store.claimNext(node: "n", pid: 1, lease: 30, now: Date()))
        XCTAssertEqual(job.id, id)
        try store.markDone(claim, outputs: ["/out/a.mp4"], now: Date())
        XCTAssertEqual(try store.job(id)?.state, .done)
        let hold = try XCTUnwrap(try store.holdWatch("/w", node: "n"), "the hold taken late by the timed-out call was let go")
        hold.release()
    }

    func testThePasswordComesFromTheEnvironmentOrThePassfile() throws {
        let url = try PostgresStoreURL("postgres://alice@db.example:6543/jobs")
        let passfile = """
            # comment
            other.example:6543:jobs:alice:wrong-host
            db.example:5432:jobs:alice:wrong-port
            db.example:6543:*:bob:wrong-user
            db.example:6543:*:alice:pa\\:ss\\\\word
            *:*:*:*:catch-all
            """
        XCTAssertEqual(PostgresPassword.lookup(in: passfile, url: url), "pa:ss\\word")
        XCTAssertEqual(PostgresPassword.lookup(in: passfile, url: try PostgresStoreURL("postgres://zed@h/d")), "catch-all")
        let socket = try PostgresStoreURL("postgres://alice@/jobs?host=/run/pg&port=6543")
        XCTAssertEqual(PostgresPassword.lookup(in: "localhost:6543:jobs:alice:via-localhost", url: socket), "via-localhost")
        XCTAssertEqual(PostgresPassword.lookup(in: "/run/pg:6543:jobs:alice:via-folder", url: socket), "via-folder")

        let path = folder.appendingPathComponent("pgpass").path
        try passfile.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(PostgresPassword.find(for: url, environment: ["PGPASSFILE": path]), "pa:ss\\word")
        XCTAssertEqual(PostgresPassword.find(for: url, environment: ["PGPASSFILE": path, "PGPASSWORD": "env"]), "env")
        XCTAssertNil(PostgresPassword.find(for: url, environment: ["HOME": folder.path]), "no ~/.pgpass there")
        try passfile.write(toFile: folder.appendingPathComponent(".pgpass").path, atomically: true, encoding: .utf8)
        XCTAssertEqual(PostgresPassword.find(for: url, environment: ["HOME": folder.path]), "pa:ss\\word")
    }

    func testAWrongPasswordFailsInOneLineNamingTheStoreNotThePassword() throws {
        let url = try PostgresStoreURL(server.url(database))
        XCTAssertThrowsError(try PostgresJobStore(url: url, password: "not-the-password")) {
            XCTAssertEqual("\($0)", "postgres://reprise@127.0.0.1:\(server.port)/\(database!): cannot open the job store: "
                           + "password authentication failed for user \"reprise\" (SQLSTATE 28P01)")
        }
        XCTAssertThrowsError(try PostgresJobStore(url: try PostgresStoreURL(server.url("nosuchdb")), password: server.password)) {
            XCTAssertTrue("\($0)".hasPrefix("postgres://reprise@127.0.0.1:\(server.port)/nosuchdb: cannot open the job store: "), "\($0)")
            XCTAssertTrue("\($0)".contains("nosuchdb\" does not exist"), "\($0)")
            XCTAssertFalse("\($0)".contains(server.password), "\($0)")
        }
    }

    func testAStoreOverTheUnixSocketSeesWhatTheTCPOneWrote() throws {
        let viaSocket = try PostgresJobStore(url: try PostgresStoreURL(server.socketURL(database)), password: server.password)
        XCTAssertEqual(viaSocket.location, "postgres://reprise@/\(database!)?host=\(server.socketFolder)&port=\(server.port)")
        let viaTCP = try server.store(database)
        let input = InputIdentity(path: "/w/a.mkv", size: 1, modified: 0, hash: "h")
        let created = try viaTCP.enqueue(input, watchFolder: "/w", kinds: [("k", 0)], now: Date(timeIntervalSince1970: 1e9))
        XCTAssertEqual(try viaSocket.jobs(), created)
        XCTAssertEqual(created.count, 1)
    }

    func testSeveralNodesOpeningAFreshDatabaseAtOnceAgreeOnTheSchema() throws {
        let fresh = try server.createDatabase()
        let server = self.server!
        let errors = Locked<[String]>([])
        let opened = DispatchGroup()
        for _ in 0..<6 {
            opened.enter()
            Thread {
                defer { opened.leave() }
                do { _ = try server.store(fresh).counts() } catch { errors.withLock { $0.append("\(error)") } }
            }.start()
        }
        XCTAssertEqual(opened.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(errors.withLock { $0 }, [])
        XCTAssertEqual(try server.execute("SELECT string_agg(version::text, ',') FROM schema_version", database: fresh),
                       [(1...PostgresSchema.latest).map(String.init).joined(separator: ",")], "each migration applied once, in order")
    }

    func testAWatcherWhoseSessionIsKilledLosesTheHoldAndTheStandbyTakesOver() throws {
        let watcher = try server.store(database), standby = try server.store(database)
        let hold = try XCTUnwrap(try watcher.holdWatch("/watch/room1", node: "watcher"))
        XCTAssertNil(try standby.holdWatch("/watch/room1", node: "standby"))
        // The watcher's session dies (as when its node does): the server drops the lock.
        let killed = try server.execute("""
            SELECT pg_terminate_backend(pid)::text FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = '\(database!)')
            """, database: "postgres")
        XCTAssertEqual(killed, ["true"], "one advisory lock, the hold's")
        XCTAssertTrue(pollUntil(timeout: 10) { !hold.isHeld }, "the holder learns it lost the folder")
        var taken: WatchHold?
        XCTAssertTrue(try pollUntil(timeout: 10) {
            taken = try standby.holdWatch("/watch/room1", node: "standby")
            return taken != nil
        }, "the standby takes the folder over")
        XCTAssertEqual(taken?.isHeld, true)
        hold.release()
        XCTAssertEqual(taken?.isHeld, true, "releasing a lost hold touches nobody else's")
        XCTAssertNil(try watcher.holdWatch("/watch/room1", node: "watcher"))
    }

    func testAClosedStoreRefusesCallsNamingTheStore() throws {
        let store = try server.store(database)
        XCTAssertEqual(try store.counts()[.queued], 0)
        store.close()
        var message = ""
        XCTAssertTrue(pollUntil(timeout: 10) {
            do { _ = try store.counts(); return false } catch { message = "\(error)"; return true }
        }, "calls fail once the pool is stopped")
        XCTAssertTrue(message.hasPrefix("postgres://reprise@127.0.0.1:\(server.port)/\(database!): "), message)
    }

    func testTheWatchLockKeyIsTheSameInEveryProcess() {
        // FNV-1a of the path: a constant, where Swift's Hasher would differ in every process.
        XCTAssertEqual(PostgresWatchHold.lockKey("/watch/room1"), 1_997_795_789_942_035_255)
        XCTAssertNotEqual(PostgresWatchHold.lockKey("/watch/room1"), PostgresWatchHold.lockKey("/watch/room2"))
    }
}

/// A value shared between test threads, behind a lock.
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
