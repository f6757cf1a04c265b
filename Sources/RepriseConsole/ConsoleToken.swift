import Foundation

/// The bearer token the console checks, replaceable while it runs: SIGHUP re-reads the token
/// file, so a token is rotated without a restart (and without dropping the live streams).
public final class ConsoleToken: @unchecked Sendable {
    private let lock = NSLock()
    private var token: String?

    public init(_ token: String?) { self.token = token }

    public var current: String? { lock.withLock { token } }

    /// Reads `file` (the rules of `ConsoleSettings.readToken`) and takes its token; on any error
    /// the old token stays and the error is thrown.
    public func reload(from file: String) throws {
        let fresh = try ConsoleSettings.readToken(file: file)
        lock.withLock { token = fresh }
    }
}
