import PostgresNIO

/// PostgresNIO's errors as one line for a person. `PSQLError`'s own description is deliberately
/// generic; the server's message and SQLSTATE are what an operator needs (they hold no password).
enum PostgresErrorText {
    static func describe(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// A transaction PostgreSQL aborted that would succeed if run again: a deadlock broken by the
    /// server, or a serialization failure.
    static func isRetryable(_ error: Error) -> Bool {
        guard let state = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}
