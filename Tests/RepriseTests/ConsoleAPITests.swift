import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import RepriseConsole
import RepriseDaemon
import RepriseHighlights
import RepriseJobs
import RepriseProfiles

/// The console's HTTP surface in-process (Hummingbird's router test client), over a real SQLite
/// store and real files: every endpoint, the token, the body limit, the path roots and the JSON
/// errors. The daemon-started console is in `ConsoleDaemonTests`.
final class ConsoleAPITests: XCTestCase {
    static let token = "console-test-token-0123456789"

    /// A store with three recordings' jobs, folders with outputs, and a symlink out of the roots.
    final class Bench: @unchecked Sendable {
        let root: URL
        let store: SQLiteJobStore
        var inFolder: URL { root.appendingPathComponent("in") }
        var outFolder: URL { root.appendingPathComponent("out") }
        var outside: URL { root.appendingPathComponent("outside") }
        var video: URL { outFolder.appendingPathComponent("a/a.reel.mp4") }
        let bytes = Data((0..<5000).map { UInt8($0 % 251) })

        init() throws {
            root = ScratchSpace.makeFolder("console-api")
            store = try SQLiteJobStore(path: root.appendingPathComponent("jobs.sqlite").path)
            for d in [inFolder, outFolder.appendingPathComponent("a"), outside] {
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            }
            try bytes.write(to: video)
            try Data("secret".utf8).write(to: outside.appendingPathComponent("secret.txt"))
            try FileManager.default.createSymbolicLink(at: outFolder.appendingPathComponent("a/escape"), withDestinationURL: outside)
            for name in ["a", "b", "c"] {
                let input = inFolder.appendingPathComponent("\(name).mp4")
                try Data(name.utf8).write(to: input)
                _ = try store.enqueue(InputIdentity(path: input.path, size: 1, modified: 0, hash: "h-\(name)"), watchFolder: inFolder.path,
                                      kinds: [("shorts", 0), ("transcode:long-form-720p", 1)])
            }
        }

        var settings: ConsoleSettings {
            ConsoleSettings(host: "127.0.0.1", port: 0, token: ConsoleAPITests.token, roots: [inFolder.path, outFolder.path], maxBodyBytes: 4096)
        }

        func app(_ settings: ConsoleSettings? = nil) throws -> some ApplicationProtocol {
            let s = settings ?? self.settings
            let data = ConsoleData(store: store, progress: JobProgressBoard(), roots: PathRoots(s.roots))
            return try ConsoleServer.application(settings: s, data: data, logger: .init(label: "test"))
        }
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

    func testJobListFiltersAndCounts() async throws {
        let bench = try Bench()
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/jobs", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let body = Self.json(r.body)
                let jobs = try XCTUnwrap(body["jobs"] as? [[String: Any]])
                XCTAssertEqual(jobs.count, 6)
                XCTAssertEqual(jobs.first?["id"] as? Int, 6, "newest first")
                XCTAssertEqual((body["counts"] as? [String: Int])?["queued"], 6)
            }
            try await client.execute(uri: "/api/jobs?form=shorts&recording=B.MP4", method: .get) { r in
                let jobs = try XCTUnwrap(Self.json(r.body)["jobs"] as? [[String: Any]])
                XCTAssertEqual(jobs.map { $0["id"] as? Int }, [3])
                XCTAssertEqual(jobs.first?["recordingName"] as? String, "b.mp4")
            }
            try await client.execute(uri: "/api/jobs?state=done", method: .get) { r in
                XCTAssertEqual((Self.json(r.body)["jobs"] as? [Any])?.count, 0)
            }
            try await client.execute(uri: "/api/jobs?state=bogus", method: .get) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertEqual(r.headers[.contentType], "application/json; charset=utf-8")
                let error = try XCTUnwrap(Self.json(r.body)["error"] as? [String: Any])
                XCTAssertEqual(error["status"] as? Int, 400)
                XCTAssertTrue((error["message"] as? String ?? "").contains("bogus"))
            }
            try await client.execute(uri: "/api/jobs?limit=0", method: .get) { r in XCTAssertEqual(r.status, .badRequest) }
        }
    }

    func testJobDetailRetryCancelNeedTheToken() async throws {
        let bench = try Bench()
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/jobs/2", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual((Self.json(r.body)["job"] as? [String: Any])?["form"] as? String, "transcode:long-form-720p")
            }
            try await client.execute(uri: "/api/jobs/99", method: .get) { r in XCTAssertEqual(r.status, .notFound) }
            try await client.execute(uri: "/api/jobs/x", method: .get) { r in XCTAssertEqual(r.status, .badRequest) }
            // No token, a wrong one, the wrong scheme: 401, and the job is untouched.
            for headers: HTTPFields in [[:], [.authorization: "Bearer nope"], [.authorization: "Basic \(Self.token)"],
                                        [.authorization: "Bearer \(Self.token)x"]] {
                try await client.execute(uri: "/api/jobs/2/cancel", method: .post, headers: headers) { r in
                    XCTAssertEqual(r.status, .unauthorized, "\(headers)")
                    XCTAssertEqual(r.headers[.wwwAuthenticate], "Bearer")
                }
            }
            XCTAssertEqual(try bench.store.job(2)?.state, .queued)
            try await client.execute(uri: "/api/jobs/2/cancel", method: .post, headers: Self.auth) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Self.json(r.body)["state"] as? String, "cancelled")
            }
            XCTAssertEqual(try bench.store.job(2)?.state, .cancelled)
            try await client.execute(uri: "/api/jobs/2/retry", method: .post, headers: Self.auth) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Self.json(r.body)["state"] as? String, "queued")
            }
            XCTAssertEqual(try bench.store.job(2)?.state, .queued)
            try bench.store.markDone(try XCTUnwrap(try bench.store.claimNext(pid: 1, now: Date())).id, outputs: [])
            try await client.execute(uri: "/api/jobs/1/retry", method: .post, headers: Self.auth) { r in
                XCTAssertEqual(r.status, .conflict, "a done job can't be retried")
                XCTAssertNotNil((Self.json(r.body)["error"] as? [String: Any])?["message"])
            }
            try await client.execute(uri: "/api/jobs/99/retry", method: .post, headers: Self.auth) { r in XCTAssertEqual(r.status, .notFound) }
        }
    }

    func testLoopbackWithoutATokenTakesNoWrites() async throws {
        let bench = try Bench()
        var s = bench.settings
        s.token = nil
        try await bench.app(s).test(.router) { client in
            try await client.execute(uri: "/api/jobs", method: .get) { r in XCTAssertEqual(r.status, .ok) }
            try await client.execute(uri: "/api/jobs/1/cancel", method: .post, headers: Self.auth) { r in
                XCTAssertEqual(r.status, .unauthorized)
            }
        }
        XCTAssertEqual(try bench.store.job(1)?.state, .queued)
    }

    func testBeyondLoopbackEveryRequestNeedsTheTokenAndNoTokenIsRefusedAtStart() async throws {
        let bench = try Bench()
        var open = bench.settings
        open.host = "0.0.0.0"
        open.token = nil
        XCTAssertThrowsError(try bench.app(open)) { error in
            XCTAssertTrue("\(error)".contains("needs token_file"), "\(error)")
        }
        open.token = Self.token
        try await bench.app(open).test(.router) { client in
            for uri in ["/api/jobs", "/jobs", "/metrics", "/openapi.yaml", "/media" + bench.video.path] {
                try await client.execute(uri: uri, method: .get) { r in XCTAssertEqual(r.status, .unauthorized, uri) }
                try await client.execute(uri: uri, method: .get, headers: Self.auth) { r in XCTAssertEqual(r.status, .ok, uri) }
            }
        }
    }

    func testTokenComparisonLooksAtEveryByte() {
        XCTAssertTrue(BearerAuth.same("abcdefgh", "abcdefgh"))
        XCTAssertFalse(BearerAuth.same("abcdefgh", "abcdefgX"))
        XCTAssertFalse(BearerAuth.same("abcdefgh", "abcdefg"))
        XCTAssertFalse(BearerAuth.same("", "a"))
        XCTAssertEqual(BearerAuth.bearer("bearer  xyz "), "xyz")
        XCTAssertNil(BearerAuth.bearer("Token xyz"))
    }

    func testOversizedBodyGets413() async throws {
        let bench = try Bench()
        try await bench.app().test(.router) { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 10_000)
            try await client.execute(uri: "/api/jobs/1/cancel", method: .post, headers: Self.auth, body: big) { r in
                XCTAssertEqual(r.status, .contentTooLarge)
                XCTAssertEqual((Self.json(r.body)["error"] as? [String: Any])?["status"] as? Int, 413)
            }
            XCTAssertEqual(try bench.store.job(1)?.state, .queued, "refused before the route ran")
            let small = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
            try await client.execute(uri: "/api/jobs/1/cancel", method: .post, headers: Self.auth, body: small) { r in
                XCTAssertEqual(r.status, .ok)
            }
        }
    }

    func testPathsResolveInsideTheRootsOr403() async throws {
        let bench = try Bench()
        let out = bench.outFolder.path
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/media" + bench.video.path, method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Data(r.body.readableBytesView), bench.bytes)
                XCTAssertEqual(r.headers[.contentType], "video/mp4")
            }
            let refused = [
                "/media\(out)/a/../../outside/secret.txt",          // ../ out of the root
                "/media\(out)/a/%2E%2E/%2E%2E/outside/secret.txt",  // the same, encoded
                "/media/etc/passwd",                                 // absolute, outside
                "/media\(out)/a/escape/secret.txt",                  // a symlink out of the root
            ]
            for uri in refused {
                try await client.execute(uri: uri, method: .get) { r in
                    XCTAssertEqual(r.status, .forbidden, uri)
                    let message = (Self.json(r.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                    XCTAssertFalse(message.contains("/"), "an error names no server path: \(message)")
                    XCTAssertFalse(Self.text(r.body).contains("secret"))
                }
            }
            try await client.execute(uri: "/media\(out)/a/missing.mp4", method: .get) { r in XCTAssertEqual(r.status, .notFound) }
            try await client.execute(uri: "/api/recording?path=/etc/passwd", method: .get) { r in XCTAssertEqual(r.status, .forbidden) }
            try await client.execute(uri: "/api/recording?path=\(bench.inFolder.path)/../outside/x.mp4", method: .get) { r in
                XCTAssertEqual(r.status, .forbidden)
            }
        }
    }

    func testMediaByteRanges() async throws {
        let bench = try Bench()
        let uri = "/media" + bench.video.path
        try await bench.app().test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=100-199"]) { r in
                XCTAssertEqual(r.status, .partialContent)
                XCTAssertEqual(r.headers[.contentRange], "bytes 100-199/5000")
                XCTAssertEqual(Data(r.body.readableBytesView), bench.bytes[100..<200])
            }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=-10"]) { r in
                XCTAssertEqual(r.status, .partialContent)
                XCTAssertEqual(Data(r.body.readableBytesView), bench.bytes.suffix(10))
            }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=4990-"]) { r in
                XCTAssertEqual(r.headers[.contentRange], "bytes 4990-4999/5000")
            }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=6000-"]) { r in
                XCTAssertEqual(r.status, .rangeNotSatisfiable)
                XCTAssertEqual(r.headers[.contentRange], "bytes */5000")
            }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=-0"]) { r in XCTAssertEqual(r.status, .rangeNotSatisfiable) }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=0-0"]) { r in
                XCTAssertEqual(r.status, .partialContent)
                XCTAssertEqual(Data(r.body.readableBytesView), bench.bytes.prefix(1))
            }
            try await client.execute(uri: uri, method: .get, headers: [.range: "bytes=-99999"]) { r in
                XCTAssertEqual(r.headers[.contentRange], "bytes 0-4999/5000", "a suffix past the start is the whole file")
            }
            try await client.execute(uri: uri, method: .head) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentLength], "5000")
            }
        }
    }

    func testRecordingsAndRecordingDetail() async throws {
        let bench = try Bench()
        let a = bench.inFolder.appendingPathComponent("a.mp4").path
        try bench.store.markDone(try XCTUnwrap(try bench.store.claimNext(pid: 1, now: Date())).id, outputs: [bench.video.path])
        try Data("{}".utf8).write(to: bench.inFolder.appendingPathComponent("a.chat.jsonl"))
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recordings", method: .get) { r in
                let list = try XCTUnwrap(Self.json(r.body)["recordings"] as? [[String: Any]])
                XCTAssertEqual(list.map { $0["name"] as? String }, ["c.mp4", "b.mp4", "a.mp4"])
                XCTAssertEqual((list.last?["forms"] as? [Any])?.count, 2)
                XCTAssertEqual(list.last?["state"] as? String, "queued", "the least finished form")
            }
            try await client.execute(uri: "/api/recording?path=\(a)", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let body = Self.json(r.body)
                let outputs = try XCTUnwrap(body["outputs"] as? [[String: Any]])
                XCTAssertEqual(outputs.count, 1)
                XCTAssertEqual(outputs.first?["type"] as? String, "video")
                XCTAssertEqual(outputs.first?["url"] as? String, "/media" + bench.video.path)
                XCTAssertEqual(outputs.first?["bytes"] as? Int, 5000)
                XCTAssertEqual((body["signals"] as? [[String: Any]])?.map { $0["kind"] as? String }, ["chat"])
            }
            try await client.execute(uri: "/api/recording?path=\(bench.inFolder.path)/none.mp4", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
            }
            try await client.execute(uri: "/api/recording", method: .get) { r in XCTAssertEqual(r.status, .badRequest) }
        }
    }

    func testPagesRenderAndEscape() async throws {
        let bench = try Bench()
        let odd = bench.inFolder.appendingPathComponent("<b>odd&.mp4")
        try Data("x".utf8).write(to: odd)
        _ = try bench.store.enqueue(InputIdentity(path: odd.path, size: 1, modified: 0, hash: "h-odd"), watchFolder: bench.inFolder.path,
                                    kinds: [("shorts", 0)])
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                XCTAssertEqual(r.status, .seeOther)
                XCTAssertEqual(r.headers[.location], "/jobs")
            }
            try await client.execute(uri: "/jobs?state=queued", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let html = Self.text(r.body)
                for id in 1...7 { XCTAssertTrue(html.contains("id=\"job-\(id)\""), "row \(id)") }
                XCTAssertTrue(html.contains("&lt;b&gt;odd&amp;.mp4"), "names are escaped")
                XCTAssertFalse(html.contains("<b>odd"))
                XCTAssertTrue(html.contains("data-events=\"/events?view=table&amp;state=queued\""))
            }
            try await client.execute(uri: "/recordings", method: .get) { r in
                let html = Self.text(r.body)
                XCTAssertEqual(html.components(separatedBy: "<li class=\"state-").count - 1, 4)
            }
            try await client.execute(uri: "/recording?path=\(bench.inFolder.path)/a.mp4", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertTrue(Self.text(r.body).contains("<h1>a.mp4</h1>"))
            }
            for asset in ["/assets/console.css", "/assets/console.js"] {
                try await client.execute(uri: asset, method: .get) { r in
                    XCTAssertEqual(r.status, .ok)
                    XCTAssertGreaterThan(r.body.readableBytes, 500)
                }
            }
            try await client.execute(uri: "/no/such/page", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual((Self.json(r.body)["error"] as? [String: Any])?["status"] as? Int, 404)
            }
        }
    }

    /// A highlights run's review file beside its outputs: the recording's page draws its lanes as
    /// SVG (one polyline a lane, downsampled), lists the windows with their reasons, and hands the
    /// edge editor the windows, scene cuts and frame rate; the API returns it with the outputs'
    /// paths where they are now (the run wrote them in a staging folder).
    func testRecordingPageDrawsTheReviewFilesLanesAndWindows() async throws {
        let bench = try Bench()
        let a = bench.inFolder.appendingPathComponent("a.mp4").path
        let folder = bench.outFolder.appendingPathComponent("a").path
        let long = (0..<7200).map { Double($0 % 97) }
        let review = ReviewFile(input: "/elsewhere/a.mp4", duration: 7200, frameRate: 25,
                                lanes: [.init(name: "score", values: long), .init(name: "chat/s", values: long.map { $0 / 2 })],
                                sceneCuts: [12.5, 300, 4000],
                                windows: [.init(start: 100, end: 130.5, peak: 115, score: 2.5, reasons: ["chat </script> burst"], product: "红色外套", reel: [100, 130.5]),
                                          .init(start: 5000, end: 5020, peak: 5010, score: 1.1, reasons: ["orders"], product: nil, reel: nil)],
                                products: [.init(id: "P1", title: "红色外套", start: 90, end: 200)],
                                outputs: [.init(form: "reel", path: "/staging/job-1/a.reel.mp4", title: "Reel", ranges: [[100, 130.5]])])
        try review.write(to: ReviewFile.path(forRecording: a, in: folder))
        try bench.store.markDone(try XCTUnwrap(try bench.store.claimNext(pid: 1, now: Date())).id, outputs: [bench.video.path])
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/recording?path=\(a)", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let html = Self.text(r.body)
                XCTAssertEqual(html.components(separatedBy: "<polyline points=").count - 1, 2, "one line a lane")
                let points = html.components(separatedBy: "<polyline points=\"")[1].prefix { $0 != "\"" }
                XCTAssertEqual(points.split(separator: " ").count, 1000, "7200 seconds drawn in 1000 columns")
                XCTAssertEqual(html.components(separatedBy: "<rect class=\"window").count - 1, 2)
                XCTAssertTrue(html.contains("class=\"window out-of-reel\""), "the window left out of the reel is marked")
                XCTAssertEqual(html.components(separatedBy: "<line class=\"cut\"").count - 1, 3)
                XCTAssertTrue(html.contains("#1 1:40.000–2:10.500"))
                XCTAssertTrue(html.contains("chat &lt;/script&gt; burst"), "reasons escaped")
                // Each product's span in inputs that step a frame (25 fps), with its Save button; and a way to add a window.
                XCTAssertTrue(html.contains(#"<li data-product="P1"><b>红色外套</b>"#), "the product's row")
                XCTAssertTrue(html.contains(#"step="0.04" value="90">"#) && html.contains(#"step="0.04" value="200">"#), "its span, a frame a step")
                XCTAssertTrue(html.contains(#"data-save="span""#))
                XCTAssertTrue(html.contains(#"id="add-window""#))
                // The editor's data: parsed back, the same windows, cuts and rate; no way to close the script early.
                let start = try XCTUnwrap(html.range(of: "<script type=\"application/json\" id=\"review-data\">"))
                let json = String(html[start.upperBound...].prefix { $0 != "<" })
                let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
                XCTAssertEqual(data["windows"] as? [[Double]], [[100, 130.5], [5000, 5020]])
                XCTAssertEqual(data["sceneCuts"] as? [Double], [12.5, 300, 4000])
                XCTAssertEqual(data["frameRate"] as? Double, 25)
                XCTAssertEqual(data["path"] as? String, a)
            }
            // What goes in the script element can't end it: a path with </script> and <!-- in it.
            let hostile = "/in/</script><!--x&y>.mp4"
            let embedded = Pages.scriptJSON(["path": hostile])
            XCTAssertFalse(embedded.contains("<") || embedded.contains(">") || embedded.contains("&"), embedded)
            XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(embedded.utf8)) as? [String: String])?["path"], hostile)
            try await client.execute(uri: "/api/recording?path=\(a)", method: .get) { r in
                let body = Self.json(r.body)
                let file = try XCTUnwrap(body["review"] as? [String: Any])
                XCTAssertEqual((file["outputs"] as? [[String: Any]])?.first?["path"] as? String, folder + "/a.reel.mp4")
                XCTAssertEqual(file["input"] as? String, a)
                XCTAssertEqual((file["lanes"] as? [[String: Any]])?.count, 2)
            }
        }
    }

    /// An edit of the reel's windows: stored as the recording's next plan override and only the
    /// highlights job queued again; refused without the token, with bad windows, or while it runs.
    func testEditsAreStoredAsVersionedOverridesAndRerenderTheReelOnly() async throws {
        let bench = try Bench()
        let input = bench.inFolder.appendingPathComponent("e.mp4")
        try Data("e".utf8).write(to: input)
        let identity = InputIdentity(path: input.path, size: 1, modified: 0, hash: "h-e")
        let jobs = try bench.store.enqueue(identity, watchFolder: bench.inFolder.path, kinds: [("shorts", 0), ("highlights", 1)])
        let (highlights, shorts) = (jobs[1].id, jobs[0].id)
        // Every job done (the bench's and these two), so the only one queued after the edit is its own.
        while let claimed = try bench.store.claimNext(pid: 1, now: Date()) { try bench.store.markDone(claimed.id, outputs: []) }
        XCTAssertEqual(try bench.store.job(highlights)?.state, .done)
        let path = input.path
        let body: @Sendable (String) -> ByteBuffer = { windows in ByteBuffer(string: #"{"path": "\#(path)", "windows": \#(windows)}"#) }
        let json: HTTPFields = [.contentType: "application/json"]
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: json, body: body("[[2, 4.5]]")) { r in
                XCTAssertEqual(r.status, .unauthorized)
            }
            var headers = Self.auth; headers[.contentType] = "application/json"
            for bad in ["[]", "[[4, 2]]", "[[1, 3], [2, 5]]", "[[1]]", "\"x\""] {
                try await client.execute(uri: "/api/recording/edits", method: .post, headers: headers, body: body(bad)) { r in
                    XCTAssertEqual(r.status, .badRequest, bad)
                }
            }
            XCTAssertNil(try bench.store.latestOverride(recording: input.path, hash: "h-e"), "nothing saved for refused edits")
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: headers, body: body("[[2, 4.5], [10, 12]]")) { r in
                XCTAssertEqual(r.status, .accepted)
                let reply = Self.json(r.body)
                XCTAssertEqual(reply["version"] as? Int, 1)
                XCTAssertEqual((reply["jobs"] as? [[String: Any]])?.map { $0["id"] as? Int }, [Int(highlights)])
            }
            let saved = try XCTUnwrap(try bench.store.latestOverride(recording: input.path, hash: "h-e"))
            XCTAssertEqual(saved.version, 1)
            XCTAssertEqual(try JSONDecoder().decode(PlanOverrides.self, from: Data(saved.body.utf8)).windows, [[2, 4.5], [10, 12]])
            XCTAssertEqual(try bench.store.job(highlights)?.state, .queued, "the reel's job renders again")
            XCTAssertEqual(try bench.store.job(shorts)?.state, .done, "the shorts are not touched by a reel edit")
            // Running: refused, nothing saved.
            XCTAssertEqual(try XCTUnwrap(try bench.store.claimNext(pid: 1, now: Date())).id, highlights)
            try await client.execute(uri: "/api/recording/edits", method: .post, headers: headers, body: body("[[3, 5]]")) { r in
                XCTAssertEqual(r.status, .conflict)
            }
            XCTAssertEqual(try bench.store.latestOverride(recording: input.path, hash: "h-e")?.version, 1)
        }
    }

    func testMetricsCountJobsByState() async throws {
        let bench = try Bench()
        try bench.store.markDone(try XCTUnwrap(try bench.store.claimNext(pid: 1, now: Date())).id, outputs: [])
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let text = Self.text(r.body)
                XCTAssertTrue(text.contains("reprise_jobs{state=\"queued\"} 5"), text)
                XCTAssertTrue(text.contains("reprise_jobs{state=\"done\"} 1"))
                XCTAssertTrue(text.contains("# TYPE reprise_jobs gauge"))
            }
        }
    }

    func testOpenAPIDocumentIsTheRepositorysAndNamesEveryRoute() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml")
        let yaml = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(OpenAPIDocument.yaml, yaml, "openapi.yaml changed: run scripts/embed-openapi.py")
        for path in ["/api/jobs:", "/api/jobs/{id}:", "/api/jobs/{id}/retry:", "/api/jobs/{id}/cancel:", "/api/nodes:", "/api/recordings:",
                     "/api/recording:", "/api/recording/edits:", "/api/frame:", "/events:", "/metrics:", "/openapi.yaml:", "/healthz:"] {
            XCTAssertTrue(yaml.contains("\n  \(path)\n"), path)
        }
        let bench = try Bench()
        try await bench.app().test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { r in XCTAssertEqual(Self.text(r.body), yaml) }
            try await client.execute(uri: "/api/nodes", method: .get) { r in XCTAssertNotNil(Self.json(r.body)["nodes"] as? [Any]) }
            try await client.execute(uri: "/healthz", method: .get) { r in XCTAssertEqual(r.status, .ok) }
        }
    }

    /// The exact frame at a time or index, as JPEG, named by headers; times outside the recording
    /// are 422, paths outside the roots 403, and an unclear request 400.
    func testFrameEndpointSendsTheExactFrame() async throws {
        let bench = try Bench()
        let recording = bench.inFolder.appendingPathComponent("frames.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: recording)
        let base = "/api/frame?path=\(recording.path)"
        try await bench.app().test(.router) { client in
            try await client.execute(uri: base + "&frame=17&width=64", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "image/jpeg")
                XCTAssertEqual(r.headers[.init("X-Frame-Index")!], "17")
                XCTAssertEqual(Array(r.body.readableBytesView.prefix(3)), [0xFF, 0xD8, 0xFF], "a JPEG")
            }
            try await client.execute(uri: base + "&t=0.5", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.init("X-Frame-Index")!], "15", "30 fps: the frame at 0.5 s is frame 15")
            }
            for (query, status) in [("&t=5", HTTPResponse.Status.unprocessableContent), ("&frame=30", .unprocessableContent),
                                    ("&t=-1", .badRequest), ("&width=4", .badRequest)] {
                try await client.execute(uri: base + query, method: .get) { r in
                    XCTAssertEqual(r.status, status, query)
                    let message = (Self.json(r.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                    XCTAssertFalse(message.contains(bench.root.path), "no server path in: \(message)")
                }
            }
            try await client.execute(uri: "/api/frame?path=/etc/passwd&t=0", method: .get) { r in XCTAssertEqual(r.status, .forbidden) }
        }
    }

    /// Loopback reads need no token, so a page elsewhere must not reach them by rebinding a name
    /// to 127.0.0.1: only loopback Host names pass (the daemon test sends one that doesn't).
    func testLoopbackConsoleAnswersLoopbackHostNamesOnly() {
        for host in ["evil.example:8470", "127.example.com", "10.0.0.1:8470", "[::2]:80"] { XCTAssertFalse(LoopbackHost.allowed(host), host) }
        for host in ["127.0.0.1:8470", "localhost:8470", "LOCALHOST", "[::1]:8470", "127.0.0.1"] { XCTAssertTrue(LoopbackHost.allowed(host), host) }
        XCTAssertTrue(ConsoleSettings.isLoopback("127.1.2.3"))
        XCTAssertTrue(ConsoleSettings.isLoopback("::1"))
        XCTAssertFalse(ConsoleSettings.isLoopback("127.example.com"), "a name is not loopback for what it starts with")
        XCTAssertFalse(ConsoleSettings.isLoopback("0.0.0.0"))
        XCTAssertFalse(ConsoleSettings.isLoopback("::"))
    }

    /// A root that lies behind a symlink (/srv → /data) still serves its files, and its recordings.
    func testRootsBehindASymlinkWork() async throws {
        let bench = try Bench()
        let link = bench.root.appendingPathComponent("link-to-out")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: bench.outFolder)
        var settings = bench.settings
        settings.roots = [bench.inFolder.path, link.path]
        try await bench.app(settings).test(.router) { client in
            try await client.execute(uri: "/media\(link.path)/a/a.reel.mp4", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Data(r.body.readableBytesView), bench.bytes)
            }
            try await client.execute(uri: "/media\(link.path)/a/escape/secret.txt", method: .get) { r in
                XCTAssertEqual(r.status, .forbidden, "a link out of the root is still refused")
            }
        }
    }

    func testListenAddressesParse() {
        XCTAssertTrue(DaemonConfig.HTTP.parseListen("127.0.0.1:8470")! == ("127.0.0.1", 8470))
        XCTAssertTrue(DaemonConfig.HTTP.parseListen("[::1]:80")! == ("::1", 80))
        XCTAssertTrue(DaemonConfig.HTTP.parseListen(":9000")! == ("127.0.0.1", 9000))
        XCTAssertNil(DaemonConfig.HTTP.parseListen("127.0.0.1"))
        XCTAssertNil(DaemonConfig.HTTP.parseListen("host:99999"))
        XCTAssertNil(DaemonConfig.HTTP.parseListen("::1:80"))
    }
}
