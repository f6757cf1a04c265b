import Foundation
import XCTest

/// The console's edit loop through a real daemon: a recording with chat gets its highlights; the
/// reel's first window is moved to start one second later through the API (as the page's Save and
/// render does); the daemon renders the reel again; the new reel holds exactly the new ranges
/// (barcodes read back) and the recording's page shows the moved window.
final class ConsoleEditTests: XCTestCase {
    static let recipe = """
        name: recipe-edit
        windows: {min: 4, max: 8, snap: 1, min_score: 1.5}
        reel: {min: 4, target: 16, max: 30}
        teaser: {seconds: 3, snippets: 3}
        """

    func testMovingAWindowsStartRendersTheReelWithExactlyTheNewRange() throws {
        let h = try DaemonTests.Harness("console-edit")
        h.forms = "highlights"
        h.workers = 1
        try Self.recipe.write(to: h.profiles.appendingPathComponent("recipe-edit.yaml"), atomically: true, encoding: .utf8)
        // Chat bursts at 20–26 s and 40–44 s over a steady trickle: two moments.
        var chat: [String] = []
        for t in 0..<40 { chat.append(#"{"t": \#(Double(t) + 0.5), "user": "u\#(t)", "text": "hello"}"#) }
        for t in 20..<26 { for k in 0..<8 { chat.append(#"{"t": \#(Double(t) + Double(k) / 8), "user": "v\#(k)", "text": "好看"}"#) } }
        for t in 30..<34 { for k in 0..<6 { chat.append(#"{"t": \#(Double(t) + Double(k) / 6), "user": "w\#(k)", "text": "上链接"}"#) } }
        try chat.joined(separator: "\n").write(to: h.watch.appendingPathComponent("live.chat.jsonl"), atomically: true, encoding: .utf8)

        let tokenFile = h.root.appendingPathComponent("console.token")
        try (ConsoleDaemonTests.token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        h.process = try h.launch(["--http", "127.0.0.1:0", "--http-token-file", tokenFile.path, "--recipe", "edit"])
        defer { h.stop() }
        var port: Int?
        XCTAssertTrue(pollUntil(timeout: 60) {
            guard let line = h.logText().split(separator: "\n").first(where: { $0.contains("console listening") }),
                  let range = line.range(of: #"127\.0\.0\.1:(\d+)/"#, options: .regularExpression) else { return false }
            port = Int(line[range].dropFirst("127.0.0.1:".count).dropLast())
            return port != nil
        }, "no console; log:\n\(h.logText())")
        let base = URL(string: "http://127.0.0.1:\(try XCTUnwrap(port))")!
        let input = h.watch.appendingPathComponent("live.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(FixtureSpec(seconds: 40)).url, to: input)

        func job() throws -> JSONValue? {
            JSONValue.parse(try HTTPCall.send(URL(string: "/api/jobs/1", relativeTo: base)!).text)?["job"]
        }
        var first: JSONValue?
        XCTAssertTrue(try pollUntil(timeout: 180, every: 0.25) { first = try job(); return first?["state"]?.string == "done" },
                      "highlights never finished: \(String(describing: first)); log:\n\(h.logText().suffix(3000))")
        var components = URLComponents(url: base.appendingPathComponent("api/recording"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "path", value: input.path)]
        func review() throws -> JSONValue? { JSONValue.parse(try HTTPCall.send(components.url!).text)?["review"] }
        let before = try XCTUnwrap(try review(), "the highlights run wrote its review file")
        let reelWindows = (before["windows"]?.array ?? []).compactMap { w -> [Double]? in
            guard let r = w["reel"]?.array?.compactMap(\.double), r.count == 2 else { return nil }
            return r
        }
        XCTAssertFalse(reelWindows.isEmpty, "the reel holds at least one window")
        guard var edited = Optional(reelWindows), !edited.isEmpty else { return }
        edited[0][0] += 1   // the first window starts one second later

        // Save and render, as the page does.
        let body = try JSONSerialization.data(withJSONObject: ["path": input.path, "windows": edited])
        let saved = try HTTPCall.send(URL(string: "/api/recording/edits", relativeTo: base)!, method: "POST",
                                      headers: ["Authorization": "Bearer \(ConsoleDaemonTests.token)", "Content-Type": "application/json"], body: body)
        XCTAssertEqual(saved.status, 202, saved.text)
        XCTAssertEqual(JSONValue.parse(saved.text)?["version"]?.int, 1)
        let firstFinish = first?["finishedAt"]?.string
        var second: JSONValue?
        XCTAssertTrue(try pollUntil(timeout: 180, every: 0.25) {
            second = try job()
            return second?["state"]?.string == "done" && second?["finishedAt"]?.string != firstFinish
        }, "the reel was never rendered again: \(String(describing: second)); log:\n\(h.logText().suffix(3000))")

        // The new reel: its window ranges are the edited ones, and its frames are exactly theirs.
        let after = try XCTUnwrap(try review())
        let reel = try XCTUnwrap(after["outputs"]?.array?.first { $0["form"]?.string == "reel" })
        let ranges = (reel["ranges"]?.array ?? []).compactMap { $0.array?.compactMap(\.double) }
        XCTAssertEqual(Array(ranges.suffix(edited.count)), edited, "the reel's windows are the edited ones (after the teaser)")
        let path = try XCTUnwrap(reel["path"]?.string)
        let expected = ranges.flatMap { r in Int((r[0] * 30).rounded(.up))..<Int((r[1] * 30).rounded(.up)) }
        XCTAssertFalse(expected.isEmpty)
        let frames = try VideoReadback.read(URL(fileURLWithPath: path)).indices
        print("console edit: reel windows before \(reelWindows), after \(ranges) (teaser first); \(frames.count) frames read back")
        XCTAssertEqual(frames.count, expected.count, "frames in the new reel")
        XCTAssertEqual(frames, expected.map { Optional($0) }, "every frame of the new ranges once, in order")
        XCTAssertFalse(frames.contains(Int((reelWindows[0][0] * 30).rounded(.up))), "the second cut off the first window is gone")

        // The page shows the moved window.
        var page = URLComponents(url: base.appendingPathComponent("recording"), resolvingAgainstBaseURL: false)!
        page.queryItems = [URLQueryItem(name: "path", value: input.path)]
        let html = try HTTPCall.send(page.url!).text
        let start = edited[0][0]
        XCTAssertTrue(html.contains(String(format: "#1 %d:%02d.%03d", Int(start) / 60, Int(start) % 60, Int((start * 1000).rounded()) % 1000)), html)
        XCTAssertTrue(html.contains("set in the review console"), "the window's reason says who set it")
        XCTAssertEqual(h.stop(), 0)
    }
}
