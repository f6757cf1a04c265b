import Foundation

/// Runs async PostgresNIO work from a plain thread and waits for it: the store's API is
/// synchronous because the daemon's workers are threads. Never call this from a Swift concurrency
/// task (it would park one of the few cooperative threads the work itself needs).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try box.take().get()
}

/// The one result handed from the task to the waiting thread, behind a lock.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    func set(_ value: Result<T, Error>) { lock.withLock { result = value } }
    func take() -> Result<T, Error> { lock.withLock { result! } }
}
