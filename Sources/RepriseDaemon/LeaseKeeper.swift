import Foundation
import RepriseJobs

/// Keeps one claim's lease alive while its job runs: renews every third of the lease, and says
/// stop once the claim is lost (the store says it is stale) or can no longer be proven (the store
/// unreachable until shortly before the deadline), so a node cut off from the store stops its job
/// before another node may take it, and publishes nothing.
///
/// Renewals run on a queue of their own: a store behind a cut link can leave a call hanging for
/// minutes, and the deadline must still be noticed on time.
final class LeaseKeeper: @unchecked Sendable {
    let store: any JobStore
    let claim: Claim
    let seconds: TimeInterval
    private let lock = NSLock()
    private var deadline: Date
    private var lastAttempt: Date
    private var renewing = false
    private var stale = false
    private let queue = DispatchQueue(label: "reprise.lease")

    init(store: any JobStore, claim: Claim, seconds: TimeInterval, now: Date = Date()) {
        self.store = store; self.claim = claim; self.seconds = seconds
        deadline = now.addingTimeInterval(seconds)
        lastAttempt = now
    }

    /// Stops this far before the deadline: the child needs time to die before another node's claim.
    var margin: TimeInterval { seconds / 6 }

    /// nil while the lease is held; the reason to stop once it is not. Never blocks on the store.
    func keep(now: Date) -> String? {
        lock.withLock {
            if stale { return "lease lost: the job was taken back (fence \(claim.fence))" }
            if !renewing, now.timeIntervalSince(lastAttempt) >= seconds / 3 {
                renewing = true
                lastAttempt = now
                queue.async { self.renew(asked: now) }
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
        lock.withLock {
            renewing = false
            switch result {
            case true?: deadline = max(deadline, asked.addingTimeInterval(seconds))
            case false?: stale = true
            // Unreachable store: the lease runs on to its deadline; the next try is a second away.
            case nil: lastAttempt = Date().addingTimeInterval(-seconds / 3 + 1)
            }
        }
    }
}
