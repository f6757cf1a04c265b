import Foundation
import Hummingbird
import Mustache

/// The server-rendered pages: jobs, recordings, a recording. Live parts update over `/events`.
public struct Pages: Sendable {
    let library: MustacheLibrary

    public init() throws {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in Templates.all { templates[name] = try MustacheTemplate(string: text) }
        library = MustacheLibrary(templates: templates)
    }

    func render(_ name: String, _ object: [String: Any]) -> Response {
        let html = library.render(object, withTemplate: name) ?? ""
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The jobs table's rows (also what `/events?view=table` sends).
    func jobRows(_ jobs: [JobView], now: Date = Date()) -> String {
        library.render(["jobs": jobs.map { Pages.row($0) }], withTemplate: "jobrows") ?? ""
    }

    static func row(_ j: JobView) -> [String: Any] {
        var r: [String: Any] = [
            "id": j.id, "state": j.state, "form": j.form, "recordingName": j.recordingName,
            "recordingQuery": queryValue(j.recording), "attempts": j.attempts, "error": j.error ?? "",
            "canRetry": ["failed", "quarantined", "cancelled", "queued"].contains(j.state),
            "canCancel": ["queued", "running", "waiting", "failed"].contains(j.state),
        ]
        if let p = j.progress {
            r["progress"] = ["fraction": String(format: "%.3f", p.fraction), "percent": Int(p.fraction * 100), "stage": p.stage]
            r["eta"] = p.etaSeconds.map(clock) ?? ""
        }
        return r
    }

    static func add(to router: Router<ConsoleContext>, data: ConsoleData, pages: Pages) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/jobs"]) }
        router.get("jobs") { request, _ -> Response in
            let query = JobsAPI.query(request)
            let filter = try JobFilter(query: query)
            async let jobs = data.jobs(filter)
            async let counts = data.counts()
            async let nodes = data.nodes()
            let c = try await counts, n = try await nodes
            let states = c.keys.sorted().map { ["name": $0, "count": c[$0] ?? 0, "selected": query["state"] == $0] as [String: Any] }
            let kept = ["state", "form", "recording", "limit", "parts"].compactMap { k in query[k].flatMap { $0.isEmpty ? nil : "\(k)=\(queryValue($0))" } }
            return pages.render("jobs", [
                "title": "Jobs", "onJobs": true, "states": states, "form": query["form"] ?? "", "recording": query["recording"] ?? "",
                "rows": pages.jobRows(try await jobs), "queryAmp": kept.map { "&" + $0 }.joined(),
                "hasNodes": !n.isEmpty,
                "nodes": n.map { ["name": $0.name, "role": $0.role, "load": String(format: "%.2f", $0.load),
                                  "runningText": $0.running.isEmpty ? "nothing" : $0.running.map { "#\($0)" }.joined(separator: ", ")] as [String: Any] },
            ])
        }
        router.get("recordings") { request, _ -> Response in
            let list = try await data.recordings(limit: try JobsAPI.recordingsLimit(request))
            return pages.render("recordings", [
                "title": "Recordings", "onRecordings": true,
                "recordings": list.map { r -> [String: Any] in
                    var d: [String: Any] = ["name": r.name, "state": r.state, "pathQuery": queryValue(r.path), "sizeText": bytes(r.size),
                                            "forms": r.forms.map { ["form": $0.form, "state": $0.state] }]
                    if let cover = r.cover, data.roots.contains(cover) { d["coverURL"] = MediaRoute.url(for: cover) }
                    return d
                },
            ])
        }
        router.get("recording") { request, _ -> Response in
            guard let path = JobsAPI.query(request)["path"], !path.isEmpty else { throw ConsoleError(.badRequest, "path: required") }
            let detail = try await data.recording(path: path)
            let r = detail.recording
            var review: [String: Any] = ["hasReview": false]
            if let file = detail.review {
                review = [
                    "hasReview": true, "lanesSVG": LaneChart.svg(file),
                    "windows": file.windows.enumerated().map { i, w -> [String: Any] in
                        var row: [String: Any] = ["index": i, "number": i + 1, "startText": LaneChart.clock(w.start), "endText": LaneChart.clock(w.end),
                                                  "score": String(format: "%.2f", w.score), "inReel": w.reel != nil,
                                                  "reasons": w.reasons.joined(separator: "; ")]
                        if let product = w.product { row["product"] = product }
                        return row
                    },
                    "edges": [["name": "start"], ["name": "end"]],
                    // Each product's span, editable to the frame.
                    "hasProducts": !file.products.isEmpty, "path": r.path,
                    "products": file.products.map { p -> [String: Any] in
                        ["id": p.id, "title": p.title, "start": Pages.seconds(p.start), "end": Pages.seconds(p.end),
                         "duration": Pages.seconds(file.duration), "frameStep": Pages.seconds(1 / (file.frameRate ?? 30), digits: 6)]
                    },
                    // A window in the reel is edited as the stretch the reel holds of it.
                    "reviewJSON": Pages.scriptJSON(EditorData(path: r.path, frameRate: file.frameRate ?? 30, duration: file.duration,
                                                              sceneCuts: file.sceneCuts,
                                                              windows: file.windows.map { $0.reel ?? [$0.start, $0.end] },
                                                              inReel: file.windows.map { $0.reel != nil })),
                ]
            }
            return pages.render("recording", review.merging([
                "title": r.name, "onRecordings": true, "name": r.name, "state": r.state, "sizeText": bytes(r.size),
                "nameQuery": queryValue(r.name),
                // false, not "", when there are none: mustache treats an empty string as true.
                "signalsText": detail.signals.isEmpty ? false as Any :
                    detail.signals.map { "\($0.kind) (\(($0.path as NSString).lastPathComponent))" }.joined(separator: ", "),
                "forms": r.forms.map { ["job": $0.job, "form": $0.form, "state": $0.state] as [String: Any] },
                "outputs": detail.outputs.map { o -> [String: Any] in
                    ["url": o.url, "type": o.type, "form": o.form, "fileName": (o.path as NSString).lastPathComponent,
                     "sizeText": o.bytes.map(bytes) ?? "", "isVideo": o.type == "video" || o.type == "ladder", "isImage": o.type == "image",
                     // false, not nil, when there is no sidecar: a missing key would look the name up in the outer context.
                     "details": o.details.map { ["title": $0.title, "tagsText": $0.tags.joined(separator: ", "), "description": $0.description,
                                                 "path": r.path] as Any } ?? false]
                },
            ]) { a, _ in a })
        }
    }

    /// What the edge editor's script needs, inside `<script type="application/json">`.
    struct EditorData: Encodable {
        var path: String; var frameRate: Double; var duration: Double; var sceneCuts: [Double]; var windows: [[Double]]; var inReel: [Bool]
    }

    /// JSON safe inside a script element: `<`, `>` and `&` as \u escapes, so nothing can close it.
    static func scriptJSON<T: Encodable>(_ value: T) -> String {
        let text = (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return text.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// Seconds for a number input: as many decimals as a frame needs, no exponent.
    static func seconds(_ t: Double, digits: Int = 3) -> String {
        var text = String(format: "%.\(digits)f", t)
        while text.contains("."), text.hasSuffix("0") { text.removeLast() }
        return text.hasSuffix(".") ? String(text.dropLast()) : text
    }

    static func queryValue(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? ""
    }

    static func clock(_ seconds: Double) -> String {
        let t = Int(seconds.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n), u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
}
