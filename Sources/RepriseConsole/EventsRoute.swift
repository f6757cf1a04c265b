import Foundation
import Hummingbird
import ServiceLifecycle

/// Live updates over Server-Sent Events: `GET /events` sends the job list (same filters as
/// `/api/jobs`) whenever it changes, as JSON (`event: jobs`), or with `view=table` as the jobs
/// page's rendered rows (`event: table`), so the page and the server share one template. The
/// store is read once a second per stream; a comment line every 15 s keeps proxies from
/// closing an idle stream.
enum EventsRoute {
    static func add(to router: Router<ConsoleContext>, data: ConsoleData, pages: Pages) {
        router.get("events") { request, _ -> Response in
            let query = JobsAPI.query(request)
            let filter = try JobFilter(query: query)
            let asTable = query["view"] == "table"
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var last = "", quietTicks = 0
                // Ends with the server: a graceful shutdown waits for open requests, this one included.
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let jobs = try await data.jobs(filter)
                    let payload: String
                    if asTable {
                        payload = pages.jobRows(jobs)
                    } else {
                        let counts = try await data.counts()
                        payload = String(decoding: try JobsAPI.encoder.encode(JobsAPI.JobList(jobs: jobs, counts: counts)), as: UTF8.self)
                    }
                    if payload != last {
                        try await writer.write(ByteBuffer(string: event(asTable ? "table" : "jobs", payload)))
                        last = payload; quietTicks = 0
                    } else if quietTicks >= 15 {
                        try await writer.write(ByteBuffer(string: ": idle\n\n"))
                        quietTicks = 0
                    }
                    quietTicks += 1
                    try await Task.sleep(for: .seconds(1))
                }
                try await writer.finish(nil)
            })
        }
    }

    /// One event; every line of a multi-line payload gets its own `data:`.
    static func event(_ name: String, _ payload: String) -> String {
        // CR LF and a lone CR end an SSE line too: every line break gets its own `data:`.
        let lines = payload.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        return "event: \(name)\n" + lines.map { "data: \($0)\n" }.joined() + "\n"
    }
}
