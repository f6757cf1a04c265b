import Foundation
import Hummingbird

/// The JSON API: what the pages show and do, for scripts too. Described in `openapi.yaml`.
enum JobsAPI {
    static func add(to router: Router<ConsoleContext>, data: ConsoleData) {
        let api = router.group("api")
        api.get("jobs") { request, _ -> Response in
            let filter = try JobFilter(query: query(request))
            async let jobs = data.jobs(filter)
            async let counts = data.counts()
            return try json(JobList(jobs: try await jobs, counts: try await counts))
        }
        api.get("jobs/{id}") { _, context -> Response in
            let (job, parts) = try await data.job(try id(context))
            return try json(JobDetail(job: job, parts: parts))
        }
        api.post("jobs/{id}/retry") { _, context -> Response in
            try json(try await data.retry(try id(context)))
        }
        api.post("jobs/{id}/cancel") { _, context -> Response in
            try json(try await data.cancel(try id(context)))
        }
        api.get("nodes") { _, _ -> Response in
            try json(["nodes": try await data.nodes()])
        }
        api.get("recordings") { request, _ -> Response in
            try json(["recordings": try await data.recordings(limit: try recordingsLimit(request))])
        }
        api.get("recording") { request, _ -> Response in
            guard let path = query(request)["path"], !path.isEmpty else { throw ConsoleError(.badRequest, "path: required") }
            return try json(try await data.recording(path: path))
        }
    }

    struct JobList: Codable { var jobs: [JobView]; var counts: [String: Int] }
    struct JobDetail: Codable { var job: JobView; var parts: [JobView] }

    /// `?limit=N` recordings, 1 to 10000; 200 when not given.
    static func recordingsLimit(_ request: Request) throws -> Int {
        guard let text = query(request)["limit"] else { return 200 }
        guard let n = Int(text), (1...10_000).contains(n) else { throw ConsoleError(.badRequest, "limit: a whole number from 1 to 10000") }
        return n
    }

    static func id(_ context: ConsoleContext) throws -> Int64 {
        guard let raw = context.parameters.get("id"), let id = Int64(raw), id > 0 else {
            throw ConsoleError(.badRequest, "id: a job number")
        }
        return id
    }

    static func query(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { out[String(k)] = String(v) }
        return out
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
