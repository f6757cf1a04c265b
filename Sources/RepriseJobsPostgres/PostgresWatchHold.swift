import Foundation
import Logging
import PostgresNIO
import RepriseJobs

/// The watcher role for one folder across nodes: a session-level advisory lock
/// (`pg_try_advisory_lock`) on a connection of its own, outside the pool, open for as long as the
/// hold lives. PostgreSQL drops the lock when that session ends, however it ends (release, the
/// node's death, `pg_terminate_backend`), so a standby's next try succeeds.
final class PostgresWatchHold: WatchHold, @unchecked Sendable {
    let folder: String
    private let key: Int64
    private let connection: PostgresConnection
    private let state: HoldState
    private let checker: Task<Void, Never>
    private let logger: Logger

    /// How often the session is checked while idle; one that does not answer within twice that is lost.
    static let checkInterval: Duration = .seconds(1)
    /// How long `release` waits for the server before closing the session without a goodbye.
    static let releaseTimeout: TimeInterval = 10

    private init(folder: String, key: Int64, connection: PostgresConnection, logger: Logger) {
        self.folder = folder; self.key = key; self.connection = connection; self.logger = logger
        let state = HoldState()
        self.state = state
        // The session closing (server gone, backend terminated, network reset) loses the hold at once.
        connection.closeFuture.whenComplete { _ in state.lose() }
        // A session can also die silently (a cut link): a query must keep answering.
        checker = Task.detached {
            while state.held {
                do {
                    try await Task.sleep(for: Self.checkInterval)
                    try await withThrowingTaskGroup(of: Bool.self) { group in
                        group.addTask { _ = try await connection.query("SELECT 1", logger: logger).collect(); return true }
                        group.addTask { try await Task.sleep(for: Self.checkInterval * 2); return false }
                        let answered = try await group.next() ?? false
                        group.cancelAll()
                        if !answered { throw CancellationError() }
                    }
                } catch {
                    if Task.isCancelled { return }
                    state.lose()
                    Self.close(connection)
                    return
                }
            }
        }
    }

    /// The hold, or nil when another session holds the folder's lock.
    /// Past `timeout` (seconds) it throws `BlockingTimedOut`, its session closed (a lock taken late
    /// goes with it).
    static func take(folder: String, configuration: PostgresConnection.Configuration, timeout: TimeInterval? = nil,
                     logger: Logger) throws -> PostgresWatchHold? {
        let key = lockKey(folder)
        let inUse = ConnectionInUse()
        do {
            return try blocking(timeout: timeout) { () async throws -> PostgresWatchHold? in
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                inUse.use(connection)
                return try await locked(connection, key: key, folder: folder, logger: logger)
            }
        } catch let error as BlockingTimedOut {
            inUse.abandon()
            throw error
        }
    }

    /// The folder's lock on the fresh session `connection`, which is closed when the lock is not got.
    private static func locked(_ connection: PostgresConnection, key: Int64, folder: String, logger: Logger) async throws -> PostgresWatchHold? {
        do {
            let got = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                .collect().first?.decode(Bool.self) ?? false
            guard got else {
                try await connection.close()
                return nil
            }
            return PostgresWatchHold(folder: folder, key: key, connection: connection, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    var isHeld: Bool { state.held && !connection.isClosed }

    /// Unlocks and closes the session, and waits for both, so the folder is free when this returns.
    func release() {
        checker.cancel()
        guard state.lose() else { return }
        let (connection, key, logger) = (self.connection, self.key, self.logger)
        // A server that does not answer gets the session closed instead: that drops the lock too.
        do {
            try blocking(timeout: Self.releaseTimeout) {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger).collect()
                try? await connection.close()
            }
        } catch {
            ConnectionInUse.close(connection)
        }
    }

    deinit {
        // No waiting here: closing the session drops the lock on the server.
        checker.cancel()
        state.lose()
        Self.close(connection)
    }

    /// Closes without waiting, keeping the connection alive until the close completes (a
    /// PostgresConnection must not be freed while its channel is still open).
    private static func close(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// The advisory lock key for a folder: FNV-1a (64 bits) of its path, the same in every process
    /// and on every node (Swift's `Hasher` is seeded per process).
    static func lockKey(_ folder: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "reprise watch \(folder)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

/// Whether a hold is still held, shared with its checker task (which must not keep the hold alive).
private final class HoldState: @unchecked Sendable {
    private let lock = NSLock()
    private var isHeld = true
    var held: Bool { lock.withLock { isHeld } }
    /// Marks the hold lost; true for the call that did it.
    @discardableResult
    func lose() -> Bool { lock.withLock { defer { isHeld = false }; return isHeld } }
}
