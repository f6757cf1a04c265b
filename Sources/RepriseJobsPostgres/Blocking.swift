import Foundation

/// Runs async PostgresNIO work from a plain thread and waits for it: the store's API is
/// synchronous because the daemon's workers are threads. Never call this from a Swift concurrency
/// task (it would park one of the few cooperative threads the work itself needs).
///
/// With a `timeout`, the wait ends there whatever the work does: a server that stopped answering
/// (a cut link keeps TCP silent for minutes; a stopped server accepts and never replies) must not
/// stall the caller. The work is then cancelled and `BlockingTimedOut` thrown; what it was using
/// is the caller's to close (`ConnectionInUse`), since cancellation alone does not end a query.
func blocking<T: Sendable>(timeout: TimeInterval? = nil, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let task = Task.detached {
        do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    if let timeout {
        guard done.wait(timeout: .now() + timeout) == .success else {
            task.cancel()
            throw BlockingTimedOut(seconds: timeout)
        }
    } else {
        done.wait()
    }
    return try box.take().get()
}

/// The work given to `blocking` did not finish within its time limit.
struct BlockingTimedOut: Error, CustomStringConvertible {
    var seconds: TimeInterval
    var description: String { "no answer within \(String(format: "%g", seconds)) s" }
}

/// The one result handed from the task to the waiting thread, behind a lock.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    func set(_ value: Result<T, Error>) { lock.withLock { result = value } }
    func take() -> Result<T, Error> { lock.withLock { result! } }
}
