import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import RepriseConsole
import RepriseJobs

/// A console on one node shows the progress of jobs other nodes run: each node's heartbeat in the
/// store carries its running jobs' progress, and a job's is taken only from the node running it.
final class ConsoleProgressTests: XCTestCase {
    func testAJobRunningOnAnotherNodeShowsTheProgressItsHeartbeatReported() async throws {
        let bench = try ConsoleAPITests.Bench()
        let now = Date()
        let (job, _) = try XCTUnwrap(try bench.store.claimNext(node: "node-b", pid: 7, lease: 600, now: now - 60))
        let report = JobProgressReport(job: job.id, stage: "encoding", fraction: 0.25, startedAt: now - 60, stageStartedAt: now - 40)
        try bench.store.heartbeat(NodeStatus(name: "node-b", host: "beta", pid: 7, role: "worker", load: 1, running: [job.id],
                                             watching: [], startedAt: now - 100, seenAt: now, progress: [report]))
        // Another node claiming progress for the same job is not the one running it: ignored.
        try bench.store.heartbeat(NodeStatus(name: "node-c", host: "gamma", pid: 8, role: "worker", load: 1, running: [],
                                             watching: [], startedAt: now - 100, seenAt: now,
                                             progress: [JobProgressReport(job: job.id, stage: "stale", fraction: 0.9,
                                                                          startedAt: now - 60, stageStartedAt: now - 60)]))
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/jobs/\(job.id)", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let shown = try XCTUnwrap(ConsoleAPITests.json(r.body)["job"] as? [String: Any])
                XCTAssertEqual(shown["state"] as? String, "running")
                XCTAssertEqual(shown["node"] as? String, "node-b")
                let progress = try XCTUnwrap(shown["progress"] as? [String: Any], "\(shown)")
                XCTAssertEqual(progress["stage"] as? String, "encoding")
                XCTAssertEqual(progress["fraction"] as? Double, 0.25)
                // 40 s for a quarter: 120 s to go (give or take the test's own time).
                let eta = try XCTUnwrap(progress["etaSeconds"] as? Double)
                XCTAssertEqual(eta, 120, accuracy: 5)
            }
            try await client.execute(uri: "/jobs", method: .get) { r in
                XCTAssertTrue(String(buffer: r.body).contains("25 % encoding"), "the jobs page shows it too")
                XCTAssertFalse(String(buffer: r.body).contains("stale"))
            }
        }
        // A report from before this attempt started (a retry, before the node's next heartbeat) is not shown.
        var earlier = report
        earlier.startedAt = try XCTUnwrap(job.startedAt) - 30
        try bench.store.heartbeat(NodeStatus(name: "node-b", host: "beta", pid: 7, role: "worker", load: 1, running: [job.id],
                                             watching: [], startedAt: now - 100, seenAt: Date(), progress: [earlier]))
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/jobs/\(job.id)", method: .get) { r in
                let shown = try XCTUnwrap(ConsoleAPITests.json(r.body)["job"] as? [String: Any])
                XCTAssertNil(shown["progress"], "\(shown)")
            }
        }
    }
}
