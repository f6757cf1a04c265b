import Foundation
import RepriseJobs

/// Keeps one claim's lease alive while its job runs: renews every third of the lease, and says
/// stop once the claim is lost (the store says it is stale) or can no longer be proven (the store
/// unreachable until shortly before the deadline), so a node cut off from the store stops its job
/// before another node may take it, and publishes nothing.
///
/// It also looks, about every second, whether the job was cancelled. Both talks with the store run
/// on a queue of their own: a store behind a cut link can leave a call hanging for minutes, and
/// the deadline must still be noticed on time.
final class LeaseKeeper: @unchecked Sendable {
    let store: any JobStore
    let claim: Claim
    let seconds: TimeInterval
    private let lock = NSLock()
    private var deadline: Date
    private var lastAttempt: Date
    private var asking = false
    private var lastCancelCheck: Date
    private var stale = false
    private var cancelled = false
    private let queue = DispatchQueue(label: "reprise.lease")

    /// `deadline`: the claim's lease as the store set it (`Job.leaseUntil`), never later than
    /// `now + seconds`.
    init(store: any JobStore, claim: Claim, seconds: TimeInterval, deadline: Date? = nil, now: Date = Date()) {
        self.store = store; self.claim = claim; self.seconds = seconds
        self.deadline = min(deadline ?? .distantFuture, now.addingTimeInterval(seconds))
        lastAttempt = now
        lastCancelCheck = now
    }

    /// Stops this far before the deadline: the child needs time to die before another node's claim.
    var margin: TimeInterval { seconds / 6 }

    /// nil while the lease is held; the reason to stop once it is not. Never blocks on the store.
    func keep(now: Date) -> String? {
        lock.withLock {
            if cancelled { return "cancelled" }
            if stale { return "lease lost: the job was taken back (fence \(claim.fence))" }
            if !asking, now.timeIntervalSince(lastAttempt) >= seconds / 3 {
                asking = true
                lastAttempt = now
                queue.async { self.renew(asked: now) }
            } else if !asking, now.timeIntervalSince(lastCancelCheck) >= 1 {
                asking = true
                lastCancelCheck = now
                queue.async { self.checkCancelled() }
            }
            if now >= deadline.addingTimeInterval(-margin) {
                return "lease lost: the job store could not be reached before the lease's deadline"
            }
            return nil
        }
    }

    /// The lease counts from when renewal was asked, not answered: the store extends it from its
    /// own `now`, which is no earlier.
    private func renew(asked: Date) {
        let result: Bool?
        do { result = try store.renewLease(claim, lease: seconds, now: asked) } catch { result = nil }
        // A claim ends for a cancel too: say which, so the daemon logs the right one.
        let wasCancelled = result == false && (try? store.isCancelled(claim.jobID)) == true
        lock.withLock {
            if wasCancelled { cancelled = true }
            asking = false
            switch result {
            case true?: deadline = max(deadline, asked.addingTimeInterval(seconds))
            case false?: stale = true
            // Unreachable store: the lease runs on to its deadline; the next try is a second away.
            case nil: lastAttempt = Date().addingTimeInterval(-seconds / 3 + 1)
            }
        }
    }

    private func checkCancelled() {
        let yes = (try? store.isCancelled(claim.jobID)) == true
        lock.withLock {
            asking = false
            if yes { cancelled = true }
        }
    }
}
