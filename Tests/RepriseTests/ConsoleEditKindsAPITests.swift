import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import RepriseConsole
import RepriseHighlights
import RepriseJobs

/// `POST /api/recording/edits` with products' spans and outputs' details (in-process, over
/// `ConsoleAPITests.Bench`): merged over the stored override; details rewrite the sidecar at once
/// with no job, spans queue the highlights job; refused edits change nothing.
final class ConsoleEditKindsAPITests: XCTestCase {
    /// A done recording `e.mp4` whose highlights job made a reel (with its sidecar), a short with
    /// no sidecar, and an output behind a symlink out of the roots.
    struct Recording {
        let bench: ConsoleAPITests.Bench
        let input: URL
        let highlights: Int64
        var reel: URL { bench.outFolder.appendingPathComponent("a/e.reel.mp4") }
        var sidecar: URL { URL(fileURLWithPath: reel.path + ".json") }

        init() throws {
            bench = try ConsoleAPITests.Bench()
            input = bench.inFolder.appendingPathComponent("e.mp4")
            try Data("e".utf8).write(to: input)
            let jobs = try bench.store.enqueue(InputIdentity(path: input.path, size: 1, modified: 0, hash: "h-e"), watchFolder: bench.inFolder.path,
                                               kinds: [("highlights", 0)])
            highlights = jobs[0].id
            let folder = bench.outFolder.appendingPathComponent("a")
            try Data("video".utf8).write(to: reel)
            try OutputEdit.sidecarData(["title": "generated", "tags": ["g"], "description": "made", "form": "reel", "source": input.path])
                .write(to: sidecar)
            try Data("v".utf8).write(to: folder.appendingPathComponent("e.short-1.mp4"))
            try Data(#"{"title": "x", "source": "/in/e.mp4"}"#.utf8).write(to: bench.outside.appendingPathComponent("e.escaped.mp4.json"))
            let outputs = [reel.path, sidecar.path, folder.appendingPathComponent("e.short-1.mp4").path,
                           folder.appendingPathComponent("escape/e.escaped.mp4").path]
            while let claimed = try bench.store.claimNext(pid: 1, now: Date()) {
                try bench.store.markDone(claimed.id, outputs: claimed.id == highlights ? outputs : [])
            }
        }

        func body(_ fields: String, path: String? = nil) -> ByteBuffer {
            ByteBuffer(string: #"{"path": "\#(path ?? input.path)", \#(fields)}"#)
        }
        func stored() throws -> PlanOverrides? {
            try bench.store.latestOverride(recording: input.path, hash: "h-e").map { try JSONDecoder().decode(PlanOverrides.self, from: Data($0.body.utf8)) }
        }
        func sidecarValue() throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: sidecar)) as? [String: Any])
        }
    }

    static var headers: HTTPFields { var h = ConsoleAPITests.auth; h[.contentType] = "application/json"; return h }

    func testDetailsOnlyRewriteTheSidecarQueueNothingAndMergeOverTheStoredVersion() async throws {
        let rec = try Recording()
        try await rec.bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers, body: rec.body(#""windows": [[2, 4.5]]"#)) { r in
                XCTAssertEqual(r.status, .accepted)
            }
            // The windows edit queued the job; it renders and is done again.
            let claimed = try XCTUnwrap(try rec.bench.store.claimNext(pid: 1, now: Date()))
            try rec.bench.store.markDone(claimed.id, outputs: try XCTUnwrap(try rec.bench.store.job(rec.highlights)).outputs)
            let details = #""outputs": [{"file": "e.reel.mp4", "title": "新标题", "tags": ["新品", "coat"]}]"#
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers, body: rec.body(details)) { r in
                XCTAssertEqual(r.status, .accepted, Self.text(r.body))
                let reply = ConsoleAPITests.json(r.body)
                XCTAssertEqual(reply["version"] as? Int, 2)
                XCTAssertEqual((reply["jobs"] as? [Any])?.count, 0, "details only: no job")
            }
            XCTAssertEqual(try rec.bench.store.job(rec.highlights)?.state, .done, "nothing rendered again")
            var value = try rec.sidecarValue()
            XCTAssertEqual(value["title"] as? String, "新标题")
            XCTAssertEqual(value["tags"] as? [String], ["新品", "coat"])
            XCTAssertEqual(value["description"] as? String, "made", "a field not given stays")
            XCTAssertEqual(value["source"] as? String, rec.input.path)
            XCTAssertEqual(try rec.stored(), PlanOverrides(windows: [[2, 4.5]], outputs: [OutputEdit(file: "e.reel.mp4", title: "新标题", tags: ["新品", "coat"])]),
                           "merged with the previous version's windows")
            // A later edit of one field: merged by file, the earlier fields kept.
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers,
                                     body: rec.body(#""outputs": [{"file": "e.reel.mp4", "description": "Line one\nline two"}]"#)) { r in
                XCTAssertEqual(r.status, .accepted, Self.text(r.body))
                XCTAssertEqual(ConsoleAPITests.json(r.body)["version"] as? Int, 3)
            }
            value = try rec.sidecarValue()
            XCTAssertEqual(value["title"] as? String, "新标题")
            XCTAssertEqual(value["description"] as? String, "Line one\nline two")
            XCTAssertEqual(try rec.stored()?.outputs, [OutputEdit(file: "e.reel.mp4", title: "新标题", tags: ["新品", "coat"], description: "Line one\nline two")])
            XCTAssertEqual(try rec.stored()?.windows, [[2, 4.5]])
            // The recording's page and API show the details, with a form to edit them.
            try await client.execute(uri: "/recording?path=\(rec.input.path)", method: .get) { r in
                let html = Self.text(r.body)
                XCTAssertTrue(html.contains(#"data-file="e.reel.mp4""#), "a details form for the reel")
                XCTAssertTrue(html.contains(#"value="新品, coat""#), "its tags")
                XCTAssertFalse(html.contains(#"data-file="e.short-1.mp4""#), "no form for an output without a sidecar")
            }
        }
    }

    func testAProductsSpanQueuesTheHighlightsJobAndIsRefusedWhileItRenders() async throws {
        let rec = try Recording()
        try await rec.bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers,
                                     body: rec.body(#""products": [{"id": "P1", "start": 3, "end": 9.5}]"#)) { r in
                XCTAssertEqual(r.status, .accepted, Self.text(r.body))
                let reply = ConsoleAPITests.json(r.body)
                XCTAssertEqual(reply["version"] as? Int, 1)
                XCTAssertEqual((reply["jobs"] as? [[String: Any]])?.map { $0["id"] as? Int }, [Int(rec.highlights)])
            }
            XCTAssertEqual(try rec.bench.store.job(rec.highlights)?.state, .queued)
            XCTAssertEqual(try rec.stored(), PlanOverrides(products: [ProductEdit(id: "P1", start: 3, end: 9.5)]))
            // Running: a span and details of its output are both refused, nothing saved.
            XCTAssertEqual(try XCTUnwrap(try rec.bench.store.claimNext(pid: 1, now: Date())).id, rec.highlights)
            for fields in [#""products": [{"id": "P2", "start": 1, "end": 2}]"#, #""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#] {
                try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers, body: rec.body(fields)) { r in
                    XCTAssertEqual(r.status, .conflict, fields)
                }
            }
            XCTAssertEqual(try rec.bench.store.latestOverride(recording: rec.input.path, hash: "h-e")?.version, 1)
            XCTAssertEqual(try rec.sidecarValue()["title"] as? String, "generated")
        }
    }

    func testRefusedEditsChangeNothing() async throws {
        let rec = try Recording()
        let before = try Data(contentsOf: rec.sidecar)
        try await rec.bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: [.contentType: "application/json"],
                                     body: rec.body(#""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#)) { r in
                XCTAssertEqual(r.status, .unauthorized)
            }
            let cases: [(String, String?, HTTPResponse.Status)] = [
                (#""outputs": [{"file": "e.reel.mp4", "title": "a\u0001b"}]"#, nil, .badRequest),
                (#""outputs": [{"file": "a/e.reel.mp4", "title": "t"}]"#, nil, .badRequest),
                (#""products": [{"id": "P1", "start": 5, "end": 2}]"#, nil, .badRequest),
                (#""products": [{"id": "P1", "start": 1, "end": 2}, {"id": "P1", "start": 3, "end": 4}]"#, nil, .badRequest),
                (#""nothing": 1"#, nil, .badRequest),
                (#""products": []"#, nil, .badRequest),
                (#""outputs": []"#, nil, .badRequest),
                (#""outputs": [{"file": "e.teaser.mp4", "title": "t"}]"#, nil, .notFound),
                (#""outputs": [{"file": "e.short-1.mp4", "title": "t"}]"#, nil, .notFound),
                (#""outputs": [{"file": "e.escaped.mp4", "title": "t"}]"#, nil, .forbidden),
                (#""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#, rec.bench.outside.appendingPathComponent("e.mp4").path, .forbidden),
                (#""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#, rec.bench.inFolder.appendingPathComponent("none.mp4").path, .notFound),
            ]
            for (fields, path, status) in cases {
                try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers, body: rec.body(fields, path: path)) { r in
                    XCTAssertEqual(r.status, status, "\(fields) \(path ?? "")")
                    XCTAssertNotNil((ConsoleAPITests.json(r.body)["error"] as? [String: Any])?["message"], fields)
                }
            }
            // A sidecar made from another recording is not this one's to edit.
            var other = try rec.sidecarValue()
            other["source"] = "/in/other.mp4"
            try OutputEdit.sidecarData(other).write(to: rec.sidecar)
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers,
                                     body: rec.body(#""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#)) { r in
                XCTAssertEqual(r.status, .badRequest)
            }
            try OutputEdit.sidecarData(try JSONSerialization.jsonObject(with: before) as! [String: Any]).write(to: rec.sidecar)
        }
        XCTAssertNil(try rec.stored(), "nothing saved for refused edits")
        XCTAssertEqual(try rec.sidecarValue()["title"] as? String, "generated")
        XCTAssertEqual(try rec.bench.store.job(rec.highlights)?.state, .done)
    }

    /// A stored version that can't be read is not merged over as if empty (its edits would be
    /// lost): 409, nothing saved, nothing rewritten.
    func testAnUnreadableStoredVersionIsNotMergedOver() async throws {
        let rec = try Recording()
        XCTAssertEqual(try rec.bench.store.saveOverride(recording: rec.input.path, hash: "h-e", body: "{not json", now: Date()), 1)
        try await rec.bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: Self.headers,
                                     body: rec.body(#""outputs": [{"file": "e.reel.mp4", "title": "t"}]"#)) { r in
                XCTAssertEqual(r.status, .conflict)
                let message = (ConsoleAPITests.json(r.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                XCTAssertTrue(message.contains("version 1") && message.contains("nothing was saved"), message)
            }
        }
        XCTAssertEqual(try rec.bench.store.latestOverride(recording: rec.input.path, hash: "h-e")?.version, 1)
        XCTAssertEqual(try rec.sidecarValue()["title"] as? String, "generated")
    }

    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }
}
