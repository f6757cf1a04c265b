import Foundation
import Hummingbird

/// An error a request gets, as JSON: `{"error": {"status": 403, "message": "…"}}`. Messages name
/// what was wrong with the request, never a stack or a path of the server's own.
public struct ConsoleError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status; self.message = message; self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ConsoleError.json(status: status, message: message, headers: headers)
    }

    static func json(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) -> Response {
        let body = ["error": ["status": AnyEncodable(status.code), "message": AnyEncodable(message)]]
        let data = (try? JSONEncoder().encode(body)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A value of either kind in a small JSON object.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}

/// Every error leaves as JSON: the console's own, Hummingbird's (404, 413…) with their status,
/// and anything else as a 500 whose detail goes to the log only.
struct JSONErrors: RouterMiddleware {
    typealias Context = ConsoleContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as ConsoleError {
            return ConsoleError.json(status: e.status, message: e.message, headers: e.headers)
        } catch let e as HTTPError {
            return ConsoleError.json(status: e.status, message: e.body ?? e.status.reasonPhrase, headers: e.headers)
        } catch let e as any HTTPResponseError {
            return ConsoleError.json(status: e.status, message: e.status.reasonPhrase)
        } catch {
            context.logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return ConsoleError.json(status: .internalServerError, message: "internal error")
        }
    }
}
