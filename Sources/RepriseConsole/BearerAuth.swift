import Foundation
import Hummingbird

/// Writes always need `Authorization: Bearer TOKEN`; reads need it too when the console listens
/// beyond loopback. The token is compared in constant time and never logged. No cookies are set
/// or read, so a page on another site can't make a browser write here (no CSRF).
struct BearerAuth: RouterMiddleware {
    typealias Context = ConsoleContext
    let token: ConsoleToken
    let readsNeedToken: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isRead = request.method == .get || request.method == .head
        if !isRead || readsNeedToken {
            guard let token = token.current else {
                throw ConsoleError(.unauthorized, "this console has no token (http.token_file), so it takes no writes",
                                   headers: [.wwwAuthenticate: "Bearer"])
            }
            guard let given = BearerAuth.bearer(request.headers[.authorization]), BearerAuth.same(given, token) else {
                throw ConsoleError(.unauthorized, "missing or wrong bearer token", headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        return try await next(request, context)
    }

    static func bearer(_ header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Constant time in the given token's content: every byte of the longer one is compared.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0 && x.count == y.count
    }
}

/// On loopback, reads need no token, so a page elsewhere must not reach them through a name that
/// it made resolve to 127.0.0.1 (DNS rebinding): the `Host` a browser sends must be a loopback
/// address or `localhost`. (A request without `Host` is no browser's.)
struct LoopbackHost: RouterMiddleware {
    typealias Context = ConsoleContext
    let port: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let host = request.head.authority, !LoopbackHost.allowed(host) {
            throw ConsoleError(.misdirectedRequest, "this console answers loopback names only (127.0.0.1, [::1], localhost)")
        }
        return try await next(request, context)
    }

    /// `HOST[:PORT]` or `[V6][:PORT]` whose host is a loopback address or `localhost`.
    static func allowed(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return ConsoleSettings.isLoopback(String(host).lowercased())
    }
}

/// Bodies over the limit get 413 before any route reads them: by Content-Length when it is given,
/// else while collecting.
struct BodyLimit: RouterMiddleware {
    typealias Context = ConsoleContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw ConsoleError(.contentTooLarge, "request body over \(maxBytes) bytes")
        }
        guard request.method != .get && request.method != .head else { return try await next(request, context) }
        var request = request
        do { _ = try await request.collectBody(upTo: maxBytes) } catch let e as HTTPError where e.status == .contentTooLarge {
            throw ConsoleError(.contentTooLarge, "request body over \(maxBytes) bytes")
        }
        return try await next(request, context)
    }
}
