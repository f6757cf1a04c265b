import Foundation

/// Where the console listens and who may write: from the daemon configuration's `http:` block or
/// `--http`. Loopback by default; any other address needs a token for every request.
public struct ConsoleSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The bearer token, read from `token_file`; nil: none (loopback only, and no writes).
    public var token: String?
    /// Folders whose files the console may read or name in a request (watch folders, outputs).
    public var roots: [String]
    /// Largest request body accepted; larger gets 413.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8470, token: String? = nil, roots: [String] = [], maxBodyBytes: Int = 256 * 1024) {
        self.host = host; self.port = port; self.token = token; self.roots = roots; self.maxBodyBytes = maxBodyBytes
    }

    /// 127.0.0.0/8, ::1 or the name `localhost`, read as addresses (a name such as
    /// `127.example.com` is not loopback, whatever it starts with).
    public var isLoopback: Bool { ConsoleSettings.isLoopback(host) }

    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// Refuses what must never start: a console reachable from other machines without a token.
    public func check() throws {
        if !isLoopback && token == nil {
            throw ConsoleStartError("http: listening on \(host):\(port) (not loopback) needs token_file: every request must carry the token there")
        }
    }

    /// The token in `path`: its first line, trimmed; at least 16 characters.
    public static func readToken(file path: String) throws -> String {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConsoleStartError("\(path): can't read the console token (\(error.localizedDescription))")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard token.count >= 16 else { throw ConsoleStartError("\(path): the console token must be at least 16 characters") }
        return token
    }
}

public struct ConsoleStartError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
