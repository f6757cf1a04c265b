import Foundation
import XCTest

/// The console's edit loop through a real daemon: a recording with chat gets its highlights; the
/// reel's first window is moved to start one second later through the API (as the page's Save and
/// render does); the daemon renders the reel again; the new reel holds exactly the new ranges
/// (barcodes read back) and the recording's page shows the moved window. `ConsoleBrowserTests`
/// does the same edit with the page's own buttons in Chromium, through these helpers.
final class ConsoleEditTests: XCTestCase {
    static let recipe = """
        name: recipe-edit
        windows: {min: 4, max: 8, snap: 1, min_score: 1.5}
        reel: {min: 4, target: 16, max: 30}
        teaser: {seconds: 3, snippets: 3}
        """

    /// A daemon with the console making `highlights` of a 40-s recording with two chat bursts,
    /// after its first highlights run.
    struct Session {
        let h: DaemonTests.Harness
        let base: URL
        let input: URL
        let firstFinish: String?

        func url(_ path: String, recording: Bool = false) -> URL {
            var c = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
            if recording { c.queryItems = [URLQueryItem(name: "path", value: input.path)] }
            return c.url!
        }
        func job() throws -> JSONValue? { JSONValue.parse(try HTTPCall.send(url("api/jobs/1")).text)?["job"] }
        func review() throws -> JSONValue? { JSONValue.parse(try HTTPCall.send(url("api/recording", recording: true)).text)?["review"] }
    }

    static func startWithHighlights(_ label: String) throws -> Session {
        let h = try DaemonTests.Harness(label)
        h.forms = "highlights"
        h.workers = 1
        try recipe.write(to: h.profiles.appendingPathComponent("recipe-edit.yaml"), atomically: true, encoding: .utf8)
        // Chat bursts at 20–26 s and 30–34 s over a steady trickle: two moments.
        var chat: [String] = []
        for t in 0..<40 { chat.append(#"{"t": \#(Double(t) + 0.5), "user": "u\#(t)", "text": "hello"}"#) }
        for t in 20..<26 { for k in 0..<8 { chat.append(#"{"t": \#(Double(t) + Double(k) / 8), "user": "v\#(k)", "text": "好看"}"#) } }
        for t in 30..<34 { for k in 0..<6 { chat.append(#"{"t": \#(Double(t) + Double(k) / 6), "user": "w\#(k)", "text": "上链接"}"#) } }
        try chat.joined(separator: "\n").write(to: h.watch.appendingPathComponent("live.chat.jsonl"), atomically: true, encoding: .utf8)
        let base = try ConsoleDaemonTests.startWithConsole(h, extra: ["--recipe", "edit"])
        let input = h.watch.appendingPathComponent("live.mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(FixtureSpec(seconds: 40)).url, to: input)
        var session = Session(h: h, base: base, input: input, firstFinish: nil)
        var first: JSONValue?
        XCTAssertTrue(try pollUntil(timeout: 180, every: 0.25) { first = try session.job(); return first?["state"]?.string == "done" },
                      "highlights never finished: \(String(describing: first)); log:\n\(h.logText().suffix(3000))")
        session = Session(h: h, base: base, input: input, firstFinish: first?["finishedAt"]?.string)
        return session
    }

    /// The reel's stretch of each window the review file lists.
    static func reelWindows(_ review: JSONValue) -> [[Double]] {
        (review["windows"]?.array ?? []).compactMap { w in
            guard let r = w["reel"]?.array?.compactMap(\.double), r.count == 2 else { return nil }
            return r
        }
    }

    /// Waits for the job's next finish, then checks the new reel: its windows are `edited` (after
    /// the teaser), and its frames are exactly those of its ranges, by barcode.
    static func checkRerenderedReel(_ s: Session, edited: [[Double]], before: [[Double]]) throws {
        var second: JSONValue?
        XCTAssertTrue(try pollUntil(timeout: 180, every: 0.25) {
            second = try s.job()
            return second?["state"]?.string == "done" && second?["finishedAt"]?.string != s.firstFinish
        }, "the reel was never rendered again: \(String(describing: second)); log:\n\(s.h.logText().suffix(3000))")
        let after = try XCTUnwrap(try s.review())
        let reel = try XCTUnwrap(after["outputs"]?.array?.first { $0["form"]?.string == "reel" })
        let ranges = (reel["ranges"]?.array ?? []).compactMap { $0.array?.compactMap(\.double) }
        XCTAssertEqual(Array(ranges.suffix(edited.count)), edited, "the reel's windows are the edited ones (after the teaser)")
        let path = try XCTUnwrap(reel["path"]?.string)
        let expected = ranges.flatMap { r in Int((r[0] * 30).rounded(.up))..<Int((r[1] * 30).rounded(.up)) }
        XCTAssertFalse(expected.isEmpty)
        let frames = try VideoReadback.read(URL(fileURLWithPath: path)).indices
        print("console edit: reel windows before \(before), after \(ranges) (teaser first); \(frames.count) frames read back")
        XCTAssertEqual(frames.count, expected.count, "frames in the new reel")
        XCTAssertEqual(frames, expected.map { Optional($0) }, "every frame of the new ranges once, in order")
        XCTAssertFalse(frames.contains(Int((before[0][0] * 30).rounded(.up))), "the second cut off the first window is gone")
    }

    func testMovingAWindowsStartRendersTheReelWithExactlyTheNewRange() throws {
        let s = try Self.startWithHighlights("console-edit")
        defer { s.h.stop() }
        let before = Self.reelWindows(try XCTUnwrap(try s.review(), "the highlights run wrote its review file"))
        XCTAssertFalse(before.isEmpty, "the reel holds at least one window")
        guard !before.isEmpty else { return }
        var edited = before
        edited[0][0] += 1   // the first window starts one second later

        // Save and render, as the page does.
        let body = try JSONSerialization.data(withJSONObject: ["path": s.input.path, "windows": edited])
        let saved = try HTTPCall.send(s.url("api/recording/edits"), method: "POST",
                                      headers: ["Authorization": "Bearer \(ConsoleDaemonTests.token)", "Content-Type": "application/json"], body: body)
        XCTAssertEqual(saved.status, 202, saved.text)
        XCTAssertEqual(JSONValue.parse(saved.text)?["version"]?.int, 1)
        try Self.checkRerenderedReel(s, edited: edited, before: before)

        // The page shows the moved window, and why it is there.
        let html = try HTTPCall.send(s.url("recording", recording: true)).text
        let start = edited[0][0]
        XCTAssertTrue(html.contains(String(format: "#1 %d:%02d.%03d", Int(start) / 60, Int(start) % 60, Int((start * 1000).rounded()) % 1000)), html)
        XCTAssertTrue(html.contains("set in the review console (override v1)"), "the window's reason says who set it")
        XCTAssertEqual(s.h.stop(), 0)
    }
}
