import Foundation
import RepriseJobs

/// Keeps one claim's lease alive while its job runs: renews every third of the lease, and says
/// stop once the claim is lost (the store says it is stale) or can no longer be proven (the store
/// unreachable until shortly before the deadline), so a node cut off from the store stops its job
/// before another node may take it, and publishes nothing.
final class LeaseKeeper: @unchecked Sendable {
    let store: any JobStore
    let claim: Claim
    let seconds: TimeInterval
    private let lock = NSLock()
    private var deadline: Date
    private var lastAttempt: Date

    init(store: any JobStore, claim: Claim, seconds: TimeInterval, now: Date = Date()) {
        self.store = store; self.claim = claim; self.seconds = seconds
        deadline = now.addingTimeInterval(seconds)
        lastAttempt = now
    }

    /// Stops this far before the deadline: the child needs time to die before another node's claim.
    var margin: TimeInterval { seconds / 6 }

    /// nil while the lease is held; the reason to stop once it is not.
    func keep(now: Date) -> String? {
        lock.withLock {
            if now.timeIntervalSince(lastAttempt) >= seconds / 3 {
                lastAttempt = now
                do {
                    if try store.renewLease(claim, lease: seconds, now: now) {
                        deadline = now.addingTimeInterval(seconds)
                    } else {
                        return "lease lost: the job was taken back (fence \(claim.fence))"
                    }
                } catch {
                    // Unreachable store: the lease runs on until its deadline; renewal is retried.
                    lastAttempt = now.addingTimeInterval(-seconds / 3 + 1)
                }
            }
            if now >= deadline.addingTimeInterval(-margin) {
                return "lease lost: the job store could not be reached before the lease's deadline"
            }
            return nil
        }
    }
}
