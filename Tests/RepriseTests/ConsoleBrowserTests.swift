import Foundation
import RepriseHighlights
import XCTest

/// The review console in a real browser: a real `reprise daemon --http`, and headless Chromium
/// driven by Selenium (Tests/browser/console_browser.py) watching a dropped recording's job finish
/// live on /jobs, playing its output on the recording's page, and laying out every page at 1280
/// and 390 px wide without sideways overflow. Needs python3 with selenium, /usr/bin/chromium and
/// /usr/bin/chromedriver: without them the test is skipped, or fails when REPRISE_REQUIRE_BROWSER=1
/// (CI). Screenshots go to REPRISE_BROWSER_SHOTS when set, else to the test's scratch folder.
final class ConsoleBrowserTests: XCTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("browser/console_browser.py")
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    /// What the browser run needs and this machine lacks (empty when all is there).
    static func missingTools() -> [String] {
        var missing: [String] = []
        for path in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: path) {
            missing.append(path)
        }
        if (try? Subprocess.executable("python3")) == nil {
            missing.append("python3")
        } else if (try? Subprocess.run("python3", ["-c", "import selenium.webdriver"], timeout: 60))?.status != 0 {
            missing.append("python3's selenium (pip install selenium)")
        }
        return missing
    }

    /// True when every tool is there. Otherwise skips the test (throws XCTSkip), or with
    /// REPRISE_REQUIRE_BROWSER=1 fails it and returns false.
    func browserAvailable() throws -> Bool {
        let missing = Self.missingTools()
        guard !missing.isEmpty else { return true }
        let reason = "the browser test needs \(missing.joined(separator: ", "))"
        guard ProcessInfo.processInfo.environment["REPRISE_REQUIRE_BROWSER"] == "1" else {
            throw XCTSkip("\(reason); set REPRISE_REQUIRE_BROWSER=1 to fail instead")
        }
        XCTFail("\(reason) (REPRISE_REQUIRE_BROWSER=1)")
        return false
    }

    func testJobFinishesLiveItsOutputPlaysAndEveryPageFitsNarrowAndWide() throws {
        guard try browserAvailable() else { return }
        let h = try DaemonTests.Harness("console-browser")
        h.workers = 1
        let base = try ConsoleDaemonTests.startWithConsole(h)
        defer { h.stop() }
        let shots: URL
        if let dir = ProcessInfo.processInfo.environment["REPRISE_BROWSER_SHOTS"], !dir.isEmpty {
            shots = URL(fileURLWithPath: dir, isDirectory: true)
        } else {
            shots = h.root.appendingPathComponent("screenshots", isDirectory: true)
        }
        // The script copies the recording into the watch folder itself, under the same name, once
        // the empty /jobs page is open. A long name with no place to break a line (underscores
        // only), as recorders write them: every page must still fit 390 px.
        let name = "stream_2026_12_02_210000_channelname_saturday_night_speedrun_marathon"
        let recording = h.root.appendingPathComponent("\(name).mp4")
        try FileManager.default.copyItem(at: try Fixtures.get(DaemonTests.tinySpec).url, to: recording)

        // A highlights review beside the output (as a highlights run leaves one), so the recording's
        // page also draws lanes and windows, and the browser opens the edge editor on window 1.
        let outFolder = h.out.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        let review = ReviewFile(input: recording.path, duration: 1, frameRate: 30,
                                lanes: [.init(name: "score", values: [0.2, 1]), .init(name: "chat/s", values: [0, 3])],
                                sceneCuts: [0.5],
                                windows: [.init(start: 0.2, end: 0.8, peak: 0.5, score: 2.5,
                                                reasons: ["chat burst: 3 messages a second, well above the recording's usual"],
                                                product: nil, reel: [0.2, 0.8])],
                                products: [], outputs: [])
        try review.write(to: ReviewFile.path(forRecording: recording.path, in: outFolder.path))

        let run = try Subprocess.run("python3", [Self.script.path, base.absoluteString, h.watch.path, recording.path, shots.path],
                                     timeout: 150)
        XCTAssertEqual(run.status, 0, "console_browser.py: \(run.stderrText.suffix(3000))\ndaemon log:\n\(h.logText().suffix(2000))")
        guard run.status == 0 else { return }
        let line = try XCTUnwrap(run.stdoutText.split(separator: "\n").last.map(String.init), "no JSON line")
        let results = try XCTUnwrap(JSONValue.parse(line), line)

        // Seen live: the empty table first, then (without a reload) job 1's row, last as done.
        let states = try XCTUnwrap(results["rowStates"]?.array).compactMap(\.string)
        XCTAssertEqual(states.first, "none", line)
        XCTAssertEqual(states.last, "done", line)

        // The output played in the browser: the tiny profile's 160×120 picture, past 0.5 s.
        let video = try XCTUnwrap(results["video"])
        let src = try XCTUnwrap(video["src"]?.string)
        XCTAssertTrue(src.hasPrefix("\(base.absoluteString)/media/") && src.hasSuffix("/\(name)/\(name).tiny.mp4"), src)
        XCTAssertGreaterThan(video["currentTime"]?.double ?? 0, 0.5, line)
        XCTAssertEqual(video["videoWidth"]?.int, 160, line)
        XCTAssertEqual(video["videoHeight"]?.int, 120, line)

        // Three pages at two widths, each with no sideways overflow and a screenshot on disk.
        let layouts = try XCTUnwrap(results["layouts"]?.array)
        XCTAssertEqual(layouts.count, 6, line)
        for layout in layouts {
            let width = try XCTUnwrap(layout["width"]?.int)
            XCTAssertLessThanOrEqual(try XCTUnwrap(layout["scrollWidth"]?.int), width, "\(layout)")
            XCTAssertGreaterThan(layout["textChars"]?.int ?? 0, 0, "\(layout)")
            let shot = try XCTUnwrap(layout["screenshot"]?.string)
            XCTAssertTrue(FileManager.default.fileExists(atPath: shot), shot)
        }
        XCTAssertEqual(Set(layouts.compactMap { $0["page"]?.string }), ["jobs", "recordings", "recording"])
        // The review's edge editor, opened on window 1 on the recording's page at both widths: the
        // start edge shows the frame at 0.2 s, the end edge the window's last frame (0.8 s less one
        // frame at 30/s), each decoded by /api/frame (asked at 320 px).
        let editors = layouts.filter { $0["page"]?.string == "recording" }.compactMap { $0["editorFrames"]?.array }
        XCTAssertEqual(editors.count, 2, "the editor opened at both widths: \(line)")
        let framesServed = try frameRouteServed(base, input: h.watch.appendingPathComponent("\(name).mp4").path)
        for edges in editors {
            XCTAssertEqual(edges.count, 2, line)
            guard edges.count == 2 else { continue }
            XCTAssertTrue(edges[0].array?.first?.string?.contains("&t=0.2000&") == true, "start edge: \(edges[0])")
            XCTAssertTrue(edges[1].array?.first?.string?.contains("&t=0.7667&") == true, "end edge: \(edges[1])")
            // Asked for 320 px, the 160x120 source's frame comes at its own size (never enlarged).
            for edge in edges {
                XCTAssertEqual(edge.array?.dropFirst().first?.int, 160, "a decoded frame: \(edge)")
                XCTAssertEqual(edge.array?.dropFirst(2).first?.int, 120, "a decoded frame: \(edge)")
            }
        }
        XCTAssertTrue(framesServed, "the daemon serves /api/frame")
        print("console browser: \(results["seconds"]?.double ?? 0) s in the browser; screenshots in \(shots.path)")
        XCTAssertEqual(h.stop(), 0)
    }

    /// Whether the daemon has the /api/frame route (the edge editor's pictures): false only for
    /// the router's own 404 for a path it doesn't know, so that a route refusing a good path fails.
    func frameRouteServed(_ base: URL, input: String) throws -> Bool {
        var components = URLComponents(url: base.appendingPathComponent("api/frame"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "path", value: input), URLQueryItem(name: "t", value: "0.2"), URLQueryItem(name: "width", value: "320")]
        let reply = try HTTPCall.send(components.url!)
        return !(reply.status == 404 && JSONValue.parse(reply.text)?["error"]?["message"]?.string == "Not Found")
    }

    /// Starts the harness's daemon with the console on a port the system picks; returns its base URL.
    /// In the browser, as a person would: on a recording's page with a real highlights review,
    /// window 1's start moved one second later with the editor's button, saved and rendered; the
    /// page then shows the moved window, and the new reel holds exactly the new ranges.
    func testMovingAWindowInTheBrowserRendersTheNewReel() throws {
        guard try browserAvailable() else { return }
        let s = try ConsoleEditTests.startWithHighlights("console-browser-edit")
        defer { s.h.stop() }
        let before = ConsoleEditTests.reelWindows(try XCTUnwrap(try s.review(), "the highlights run wrote its review file"))
        XCTAssertFalse(before.isEmpty, "the reel holds at least one window")
        guard !before.isEmpty else { return }
        let run = try Subprocess.run("python3", [Self.script.path, s.url("recording", recording: true).absoluteString, ConsoleDaemonTests.token,
                                                 s.h.root.appendingPathComponent("screenshots").path], timeout: 300)
        XCTAssertEqual(run.status, 0, "console_browser.py (edit): \(run.stderrText.suffix(3000))\ndaemon log:\n\(s.h.logText().suffix(2000))")
        let result = try XCTUnwrap(JSONValue.parse(run.stdoutText.split(separator: "\n").last.map(String.init) ?? ""), run.stdoutText)
        XCTAssertEqual(result["version"]?.int, 1)
        var edited = before
        edited[0][0] += 1
        XCTAssertEqual(result["after"]?.string, String(format: "%d:%02d.%03d", Int(edited[0][0]) / 60, Int(edited[0][0]) % 60,
                                                        Int((edited[0][0] * 1000).rounded()) % 1000), "the editor moved the start by 1 s")
        try ConsoleEditTests.checkRerenderedReel(s, edited: edited, before: before)
        // Then the reel's title saved with its details form (no job), and a window added with a click
        // on the chart at 2 s: 10 s from the recording's start, before the first window.
        XCTAssertTrue(result["details"]?.string?.hasSuffix("; details written") ?? false, "\(String(describing: result["details"]))")
        XCTAssertTrue(result["added"]?.string?.hasSuffix(" 0:00.000–0:10.000") ?? false, "\(String(describing: result["added"]))")
        XCTAssertEqual(result["addedRects"]?.int, 1)
        let reel = JSONValue.parse(try HTTPCall.send(s.url("api/recording", recording: true)).text)?["outputs"]?.array?
            .first { $0["path"]?.string?.hasSuffix(".reel.mp4") ?? false }
        XCTAssertEqual(reel?["details"]?["title"]?.string, "Browser title")
        XCTAssertEqual(s.h.stop(), 0)
    }

}
