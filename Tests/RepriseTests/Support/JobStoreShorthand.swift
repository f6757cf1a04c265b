import Foundation
import XCTest
import RepriseJobs

/// Tests' shorthand for a store's claim cycle where the claim itself is not what is tested: the
/// node is named after the pid, the lease is a minute, and outcomes use the job's current claim.
extension JobStore {
    func claimNext(pid: Int32, now: Date) throws -> Job? {
        try claimNext(node: "node-\(pid)", pid: pid, lease: 60, now: now)?.0
    }

    func currentClaim(_ id: Int64) throws -> Claim {
        let job = try XCTUnwrap(try self.job(id), "no job \(id)")
        return Claim(jobID: id, fence: job.fence, node: job.node ?? "")
    }

    func markDone(_ id: Int64, outputs: [String], now: Date = Date()) throws {
        try markDone(currentClaim(id), outputs: outputs, now: now)
    }

    func markFailed(_ id: Int64, error: String, maxAttempts: Int, now: Date = Date()) throws -> Job {
        try markFailed(currentClaim(id), error: error, maxAttempts: maxAttempts, now: now)
    }
}
