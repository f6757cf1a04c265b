import Foundation
import Glibc
import Logging
import RepriseJobs

/// A node's housekeeping thread: tells the store it is alive every `heartbeatSeconds` (name, role,
/// load, running jobs, held folders) and, about every half lease, re-queues jobs whose lease ran
/// out, so a dead node's jobs come back on whichever node is left; a job whose lease ran out on its
/// last attempt (`maxAttempts`) fails instead: one that kills every node that takes it stops there.
final class NodeBeat: @unchecked Sendable {
    let store: any JobStore
    let heartbeatSeconds: TimeInterval
    let leaseSeconds: TimeInterval
    let maxAttempts: Int
    let logger: Logger
    let status: @Sendable (Date) -> NodeStatus
    private let lock = NSLock()
    private var stopped = false
    private let wake = DispatchSemaphore(value: 0)
    private var thread: Thread?

    init(store: any JobStore, heartbeatSeconds: TimeInterval, leaseSeconds: TimeInterval, maxAttempts: Int, logger: Logger,
         status: @escaping @Sendable (Date) -> NodeStatus) {
        self.store = store; self.heartbeatSeconds = heartbeatSeconds; self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
        self.logger = logger; self.status = status
    }

    func start() {
        let t = Thread { [self] in loop() }
        t.name = "reprise-heartbeat"
        lock.withLock { thread = t }
        t.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        wake.signal()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func loop() {
        var lastExpiry = Date.distantPast
        var failing = false
        while !isStopped {
            let now = Date()
            do {
                try store.heartbeat(status(now))
                if now.timeIntervalSince(lastExpiry) >= leaseSeconds / 2 {
                    lastExpiry = now
                    let expired = try store.expireLeases(now: now, maxAttempts: maxAttempts)
                    if expired > 0 {
                        logger.notice("jobs whose lease ran out re-queued (failed when out of attempts)", metadata: ["jobs": "\(expired)"])
                    }
                }
                if failing { logger.notice("job store reachable again") }
                failing = false
            } catch {
                if !failing { logger.error("heartbeat: job store", metadata: ["error": "\(error)"]) }
                failing = true
            }
            _ = wake.wait(timeout: .now() + heartbeatSeconds)
        }
    }

    /// The host's 1-minute load average (/proc/loadavg); 0 when unreadable.
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first, let v = Double(first) else { return 0 }
        return v
    }
}
