import Foundation

/// Where the console listens and who may write: from the daemon configuration's `http:` block or
/// `--http`. Loopback by default; any other address needs a token for every request.
public struct ConsoleSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The bearer token, read from `token_file`; nil means none (loopback only, reads only).
    public var token: String?
    /// Folders whose files the console may read or name in a request (watch folders, outputs).
    public var roots: [String]
    /// Largest request body accepted; larger gets 413.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8470, token: String? = nil, roots: [String] = [], maxBodyBytes: Int = 256 * 1024) {
        self.host = host; self.port = port; self.token = token; self.roots = roots; self.maxBodyBytes = maxBodyBytes
    }
}
