import Foundation
import RepriseJobs

/// Where a PostgreSQL job store is: `postgres://user@host:port/db?sslmode=…`, or a unix socket
/// folder, `postgres://user@/db?host=/run/postgresql`. The password is never part of it (the
/// URL sits in the daemon's YAML and in logs): it comes from `PGPASSWORD` or a passfile.
/// `?call_timeout=SECONDS` (default 10) limits every store call (`PostgresJobStore.callTimeout`).
public struct PostgresStoreURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        /// libpq's names; `prefer` is libpq's default too.
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    /// nil for a unix socket.
    public var host: String?
    /// The socket's folder (the server's `unix_socket_directories`); the socket is `.s.PGSQL.<port>` in it.
    public var socketFolder: String?
    public var port: Int
    public var database: String
    public var tls: TLSMode
    /// Seconds one store call may take before it is given up on.
    public var callTimeout: TimeInterval = Self.defaultCallTimeout
    public static let defaultCallTimeout: TimeInterval = 10

    /// `postgres://user@host:port/db` (the socket form keeps its `?host=`): how messages name the
    /// store. Never holds a password.
    public var display: String {
        if let socketFolder { return "postgres://\(user)@/\(database)?host=\(socketFolder)" + (port == 5432 ? "" : "&port=\(port)") }
        let shownHost = host!.contains(":") ? "[\(host!)]" : host!
        return "postgres://\(user)@\(shownHost):\(port)/\(database)"
    }

    /// The socket file PostgreSQL listens on in `socketFolder`.
    public var socketPath: String? {
        socketFolder.map { ($0 as NSString).appendingPathComponent(".s.PGSQL.\(port)") }
    }

    /// Whether `text` names a PostgreSQL store at all (the daemon's `store:` may also be an SQLite path).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(user: String, host: String?, socketFolder: String?, port: Int, database: String, tls: TLSMode) {
        self.user = user; self.host = host; self.socketFolder = socketFolder; self.port = port
        self.database = database; self.tls = tls
    }

    public init(_ text: String) throws {
        guard Self.isPostgres(text), let parts = URLComponents(string: text) else {
            throw invalid(Self.redacted(text), "not a postgres://user@host:port/db URL")
        }
        var query: [String: String] = [:]
        for item in parts.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let user = parts.user?.removingPercentEncoding ?? ""
        let database = String((parts.percentEncodedPath.removingPercentEncoding ?? parts.path).drop(while: { $0 == "/" }))
        var port = parts.port ?? 5432
        if let p = query["port"] {
            guard let n = Int(p), (1...65535).contains(n) else {
                throw invalid(Self.redacted(text), "port '\(p)' is not a port number")
            }
            port = n
        }
        var host = parts.host.map { $0.hasPrefix("[") ? String($0.dropFirst().dropLast()) : $0 }.flatMap { $0.isEmpty ? nil : $0 }
        var socketFolder: String? = nil
        if let h = query["host"], !h.isEmpty {
            if h.hasPrefix("/") { socketFolder = h } else { host = h }
        }
        let tls: TLSMode
        if let mode = query["sslmode"] {
            guard let m = TLSMode(rawValue: mode) else {
                throw invalid(Self.redacted(text),
                    "sslmode '\(mode)' is not one of disable, prefer, require, verify-ca, verify-full")
            }
            tls = m
        } else {
            tls = .prefer
        }
        var callTimeout = Self.defaultCallTimeout
        if let t = query["call_timeout"] {
            guard let seconds = TimeInterval(t), seconds.isFinite, (0.1...3600).contains(seconds) else {
                throw invalid(Self.redacted(text), "call_timeout '\(t)' is not a number of seconds from 0.1 to 3600")
            }
            callTimeout = seconds
        }
        let unknown = Set(query.keys).subtracting(["host", "port", "sslmode", "call_timeout"])
        guard unknown.isEmpty else {
            throw invalid(Self.redacted(text),
                "unknown parameter \(unknown.sorted().joined(separator: ", ")) (known: host, port, sslmode, call_timeout)")
        }
        guard !user.isEmpty else { throw invalid(Self.redacted(text), "no user (postgres://USER@host/db)") }
        guard !database.isEmpty, !database.contains("/") else {
            throw invalid(Self.redacted(text), "no database name (postgres://user@host/DB)")
        }
        if socketFolder == nil && host == nil {
            throw invalid(Self.redacted(text), "no host: give host[:port], or ?host=/socket/folder")
        }
        self.init(user: user, host: socketFolder == nil ? host : nil, socketFolder: socketFolder, port: port,
                  database: database, tls: socketFolder == nil ? tls : .disable)
        self.callTimeout = callTimeout
        if parts.password != nil {
            throw invalid(display,
                "a password in the store URL is refused (it would sit in the YAML and the logs); set PGPASSWORD or use a passfile (PGPASSFILE, ~/.pgpass)")
        }
    }

    /// `text` with any password between `user:` and `@` replaced, for messages about a URL that
    /// could not be parsed.
    static func redacted(_ text: String) -> String {
        // The last '@': an unescaped one in a password comes before it.
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

private func invalid(_ url: String, _ why: String) -> JobStoreError {
    JobStoreError("\(url): \(why)")
}
