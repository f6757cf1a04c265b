import Foundation
import XCTest

/// The console as the daemon starts it: a real `reprise daemon --http` process, a real recording
/// dropped in its folder, watched finishing live over Server-Sent Events, its output served and
/// counted in /metrics; and the settings refused at start.
final class ConsoleDaemonTests: XCTestCase {
    static let token = "daemon-console-token-abcdef012345"

    /// Starts the harness's daemon with the console on a port the system picks (and `extra`
    /// arguments); returns its base URL. The token is `token`.
    static func startWithConsole(_ h: DaemonTests.Harness, extra: [String] = []) throws -> URL {
        let tokenFile = h.root.appendingPathComponent("console.token")
        try (token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        h.process = try h.launch(["--http", "127.0.0.1:0", "--http-token-file", tokenFile.path] + extra)
        var port: Int?
        let listening = pollUntil(timeout: 60) {
            guard let line = h.logText().split(separator: "\n").first(where: { $0.contains("console listening") }),
                  let range = line.range(of: #"127\.0\.0\.1:(\d+)/"#, options: .regularExpression) else { return false }
            port = Int(line[range].dropFirst("127.0.0.1:".count).dropLast())
            return port != nil
        }
        XCTAssertTrue(listening, "no 'console listening' line; log:\n\(h.logText())")
        return URL(string: "http://127.0.0.1:\(try XCTUnwrap(port))")!
    }

    func testJobFinishesLiveOnTheJobsPageAndItsOutputIsServedAndCounted() throws {
        let h = try DaemonTests.Harness("console-daemon")
        h.workers = 1
        let base = try Self.startWithConsole(h)
        defer { h.stop() }

        let page = try HTTPCall.send(base.appendingPathComponent("jobs"))
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("data-events=\"/events?view=table\""))
        let stream = EventStreamReader(url: URL(string: "/events?view=table", relativeTo: base)!)
        defer { stream.close() }
        XCTAssertTrue(pollUntil(timeout: 30) { stream.events(named: "table").first?.contains("No jobs.") == true },
                      "first event: the empty table; got \(stream.text.prefix(500))")

        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: h.watch.appendingPathComponent("live.mp4"))
        // The same stream, without reloading: the row appears, then turns done.
        XCTAssertTrue(pollUntil(timeout: 120) { stream.events(named: "table").contains { $0.contains("id=\"job-1\"") && $0.contains("state-done") } },
                      "job 1 never showed done on the stream; events: \(stream.events(named: "table").count), log:\n\(h.logText().suffix(2000))")

        let api = try HTTPCall.send(URL(string: "/api/jobs", relativeTo: base)!)
        let body = try XCTUnwrap(JSONValue.parse(api.text))
        let job = try XCTUnwrap(body["jobs"]?.array?.first)
        XCTAssertEqual(job["state"]?.string, "done")
        let output = try XCTUnwrap(job["outputs"]?.array?.first?.string)
        let input = h.watch.appendingPathComponent("live.mp4").path

        // The recording's page has a player on the output, and the output is served byte for byte.
        var components = URLComponents(url: base.appendingPathComponent("recording"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "path", value: input)]
        let recording = try HTTPCall.send(components.url!)
        XCTAssertEqual(recording.status, 200)
        XCTAssertTrue(recording.text.contains("<video controls preload=\"metadata\" src=\"/media\(output)\""), recording.text)
        let media = try HTTPCall.send(URL(string: "/media\(output)", relativeTo: base)!)
        XCTAssertEqual(media.status, 200)
        XCTAssertEqual(media.body, try Data(contentsOf: URL(fileURLWithPath: output)))

        // Counted: jobs by state from the store, the attempt's duration, frames and bytes.
        let metrics = try HTTPCall.send(URL(string: "/metrics", relativeTo: base)!).text
        XCTAssertTrue(metrics.contains("reprise_jobs{state=\"done\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("reprise_job_duration_seconds_count{form=\"transcode:tiny\",outcome=\"done\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("reprise_queue_wait_seconds_count{form=\"transcode:tiny\"} 1"), metrics)
        let frames = metrics.split(separator: "\n").first { $0.hasPrefix("reprise_encoded_frames_total{form=\"transcode:tiny\"}") }
        XCTAssertEqual(frames.flatMap { Double($0.split(separator: " ").last ?? "") }, 30, "the 1-s fixture's 30 frames")
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber).intValue
        XCTAssertTrue(metrics.contains("reprise_bytes_written_total{form=\"transcode:tiny\"} \(size)"), metrics)

        // A name rebound to 127.0.0.1 by a page elsewhere gets nothing.
        let rebound = try HTTPCall.send(URL(string: "/api/jobs", relativeTo: base)!, headers: ["Host": "evil.example:\(base.port!)"])
        XCTAssertEqual(rebound.status, 421)
        XCTAssertFalse(rebound.text.contains("live.mp4"))

        // Writes need the token; with it, a done job can't be retried (409), and the reply is JSON.
        let cancel = URL(string: "/api/jobs/1/retry", relativeTo: base)!
        XCTAssertEqual(try HTTPCall.send(cancel, method: "POST").status, 401)
        let refused = try HTTPCall.send(cancel, method: "POST", headers: ["Authorization": "Bearer \(Self.token)"])
        XCTAssertEqual(refused.status, 409)
        XCTAssertNotNil(JSONValue.parse(refused.text)?["error"]?["message"]?.string)
        XCTAssertEqual(h.stop(), 0)
    }

    /// A token is rotated without a restart: SIGHUP re-reads the token file; a bad file then keeps
    /// the token in use.
    func testSIGHUPRereadsTheTokenFileAndABadOneKeepsTheOldToken() throws {
        let h = try DaemonTests.Harness("console-token-reload")
        let base = try Self.startWithConsole(h)
        defer { h.stop() }
        let pid = try XCTUnwrap(h.process).processIdentifier
        let tokenFile = h.root.appendingPathComponent("console.token")
        // A write that passes the token check meets a job that isn't there: 404; a refused one 401.
        let retry = URL(string: "/api/jobs/4242/retry", relativeTo: base)!
        func status(_ token: String) throws -> Int {
            try HTTPCall.send(retry, method: "POST", headers: ["Authorization": "Bearer \(token)"]).status
        }
        XCTAssertEqual(try status(Self.token), 404)
        let rotated = "rotated-console-token-0123456789"
        XCTAssertEqual(try status(rotated), 401)

        try (rotated + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(kill(pid, SIGHUP), 0)
        XCTAssertTrue(pollUntil(timeout: 30) { h.logText().contains("console token re-read") }, "log:\n\(h.logText().suffix(2000))")
        XCTAssertEqual(try status(rotated), 404)
        XCTAssertEqual(try status(Self.token), 401, "the old token must stop working")
        XCTAssertFalse(h.logText().contains(rotated), "the token must never be logged")

        try "short\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(kill(pid, SIGHUP), 0)
        XCTAssertTrue(pollUntil(timeout: 30) { h.logText().contains("console token not re-read; keeping the old one") },
                      "log:\n\(h.logText().suffix(2000))")
        XCTAssertEqual(try status(rotated), 404, "a bad token file keeps the token in use")
        XCTAssertTrue(h.process?.isRunning == true)
    }

    func testConsoleSettingsThatMustNotStartAreRefusedInOneLine() throws {
        let h = try DaemonTests.Harness("console-refused")
        let tokenFile = h.root.appendingPathComponent("short.token")
        try "short\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--http", "0.0.0.0:0"], "not loopback) needs token_file"),
            (["--http", "127.0.0.1:0", "--http-token-file", tokenFile.path], "\(tokenFile.path): the console token must be at least 16 characters"),
            (["--http", "127.0.0.1:0", "--http-token-file", h.root.appendingPathComponent("none").path], "can't read the console token"),
            (["--http", "localhost"], "--http: 'localhost' is not HOST:PORT"),
        ]
        for (args, expected) in cases {
            let log = h.root.appendingPathComponent("refused-\(UUID().uuidString).log")
            let p = try h.launch(args, logFile: log)
            XCTAssertTrue(pollUntil(timeout: 60) { !p.isRunning }, "\(args) still running")
            if p.isRunning { p.terminate(); p.waitUntilExit() }
            XCTAssertNotEqual(p.terminationStatus, 0, "\(args)")
            let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
            let lines = text.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("Usage") && !$0.hasPrefix("  See") }
            XCTAssertEqual(lines.count, 1, "\(args): \(text)")
            XCTAssertTrue(text.contains(expected), "\(args): \(text)")
            XCTAssertFalse(text.contains("console listening"), "\(args): it must not have started")
        }
    }
}
