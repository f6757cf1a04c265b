import Hummingbird

/// 405 with `Allow` for a known path asked with a method it doesn't take (a 404 would say the
/// path doesn't exist). Patterns: `{x}` matches one segment, `**` the rest.
struct AllowedMethods: RouterMiddleware {
    typealias Context = ConsoleContext
    static let table: [(pattern: [Substring], methods: [HTTPRequest.Method])] = [
        ("/api/jobs/{id}/retry", [.post]), ("/api/jobs/{id}/cancel", [.post]), ("/api/recording/edits", [.post]),
        ("/api/jobs/{id}", [.get, .head]), ("/api/jobs", [.get, .head]), ("/api/nodes", [.get, .head]),
        ("/api/recordings", [.get, .head]), ("/api/recording", [.get, .head]), ("/api/frame", [.get, .head]),
        ("/events", [.get, .head]), ("/metrics", [.get, .head]), ("/openapi.yaml", [.get, .head]), ("/healthz", [.get, .head]),
        ("/jobs", [.get, .head]), ("/recordings", [.get, .head]), ("/recording", [.get, .head]), ("/", [.get, .head]),
        ("/assets/{file}", [.get, .head]), ("/media/**", [.get, .head]),
    ].map { ($0.0.split(separator: "/"), $0.1) }

    static func allowed(for path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/")
        return table.first { entry in
            if entry.pattern.last == "**" {
                let fixed = entry.pattern.dropLast()
                return parts.count > fixed.count && zip(fixed, parts).allSatisfy { $0 == $1 || $0.hasPrefix("{") }
            }
            return entry.pattern.count == parts.count && zip(entry.pattern, parts).allSatisfy { $0 == $1 || $0.hasPrefix("{") }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let methods = AllowedMethods.allowed(for: request.uri.path), !methods.contains(request.method) {
            throw ConsoleError(.methodNotAllowed, "\(request.method.rawValue) is not allowed here",
                               headers: [.allow: methods.map(\.rawValue).joined(separator: ", ")])
        }
        return try await next(request, context)
    }
}
