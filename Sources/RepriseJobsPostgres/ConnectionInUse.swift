import Foundation
import PostgresNIO

/// The connection one store call is using, so that a call given up on (its time limit passed)
/// can close it: the query waiting on it then fails, the pool drops the closed connection and
/// opens a fresh one for the next call, and the server rolls back whatever the call had begun.
/// A connection the call only gets after it was given up on is closed as soon as it is handed over.
final class ConnectionInUse: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var abandoned = false

    /// The call now works on `connection`.
    func use(_ connection: PostgresConnection) {
        let late = lock.withLock { () -> Bool in
            self.connection = connection
            return abandoned
        }
        if late { Self.close(connection) }
    }

    /// Whether the call was given up on (its connection closed by `abandon`).
    var isAbandoned: Bool { lock.withLock { abandoned } }

    /// The call was given up on: its connection, if it has one, is closed now.
    func abandon() {
        let connection = lock.withLock { () -> PostgresConnection? in
            abandoned = true
            return self.connection
        }
        connection.map(Self.close)
    }

    /// Closes at once (the socket, not a polite goodbye a stopped server would never answer),
    /// keeping the connection alive until the close completes: a PostgresConnection must not be
    /// freed while its channel is still open.
    static func close(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}
