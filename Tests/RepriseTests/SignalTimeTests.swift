import Foundation
import XCTest
@testable import RepriseHighlights

/// Times as platforms write them: every written form parsed on its own (no I/O), the zone rules,
/// a platform-format CSV read through the reader, and `reprise highlights` given a zone-less
/// `--recording-start` with `--timezone`, or taking the zone from the recording's creation time.
final class SignalTimeTests: XCTestCase {
    /// 2026-12-01T12:00:00Z, i.e. 20:00 in Shanghai.
    static let eightPM = 1_796_126_400.0
    let shanghai = SignalTimeZone("Asia/Shanghai")!

    // MARK: written forms, no I/O

    func testNumbersAreOffsetsOrEpochSecondsOrMillisecondsByMagnitude() {
        XCTAssertEqual(WrittenTime.number(754.2), WrittenTime(.seconds, 754.2))
        XCTAssertEqual(WrittenTime.number(0), WrittenTime(.seconds, 0))
        XCTAssertEqual(WrittenTime.number(99_999_999), WrittenTime(.seconds, 99_999_999), "a bit over three years is still an offset")
        XCTAssertEqual(WrittenTime.number(1_796_126_425), WrittenTime(.epochSeconds, 1_796_126_425), "danmaku XML's seconds")
        XCTAssertEqual(WrittenTime.number(1_796_126_425_250), WrittenTime(.epochMilliseconds, 1_796_126_425.25), "a live-comment API's milliseconds")
        XCTAssertNil(WrittenTime.number(1e15), "microseconds and beyond are no form platforms write")
        XCTAssertEqual(WrittenTime.number(-3), WrittenTime(.seconds, -3), "negative: refused later, as a negative time")
        XCTAssertEqual(WrittenTime.parse("1796126425"), WrittenTime(.epochSeconds, 1_796_126_425), "numeric text alike")
        XCTAssertEqual(WrittenTime.parse(" 1796126425250 "), WrittenTime(.epochMilliseconds, 1_796_126_425.25))
        XCTAssertEqual(WrittenTime.parse("12.5"), WrittenTime(.seconds, 12.5))
    }

    func testClockOffsets() {
        XCTAssertEqual(WrittenTime.parse("00:13:45"), WrittenTime(.clock, 825))
        XCTAssertEqual(WrittenTime.parse("1:02:03.250"), WrittenTime(.clock, 3723.25))
        XCTAssertEqual(WrittenTime.parse("00:00:01,5"), WrittenTime(.clock, 1.5), "subtitle-style comma")
        XCTAssertEqual(WrittenTime.parse("123:00:00"), WrittenTime(.clock, 442_800), "hours past a day")
        for bad in ["00:60:00", "00:00:60", "00:1:02", "13:45", "00:00:01.", ":00:01", "00:00:01x"] {
            XCTAssertNil(WrittenTime.parse(bad), bad)
        }
    }

    func testISO8601AndZoneLessWallClock() throws {
        XCTAssertEqual(WrittenTime.parse("2026-12-01T20:13:45+08:00"), WrittenTime(.iso8601, Self.eightPM + 825))
        XCTAssertEqual(WrittenTime.parse("2026-12-01T12:13:45.5Z"), WrittenTime(.iso8601, Self.eightPM + 825.5))
        // Platform exports: the wall clock, no zone; the value is the reading counted as if UTC.
        let local = 1_796_155_200.0 + 825  // 2026-12-01T20:13:45 as if UTC
        XCTAssertEqual(WrittenTime.parse("2026-12-01 20:13:45"), WrittenTime(.local, local))
        XCTAssertEqual(WrittenTime.parse("2026-12-01T20:13:45"), WrittenTime(.local, local))
        XCTAssertEqual(WrittenTime.parse("2026/12/01 20:13:45"), WrittenTime(.local, local))
        XCTAssertEqual(WrittenTime.parse("2026-12-01 20:13:45.123")?.value ?? 0, local + 0.123, accuracy: 1e-6)
        XCTAssertEqual(WrittenTime.parse("2026-12-01 20:13"), WrittenTime(.local, local - 45))
        for bad in ["2026-12-01", "2026-12/01 20:13:45", "2026-02-30 00:00:00", "2026-12-01 24:00:00", "2026-12-01 20:13:45 CST", "tomorrow", ""] {
            XCTAssertNil(WrittenTime.parse(bad), bad)
        }
        // parseDate keeps its meaning: a moment, so a zone is required.
        XCTAssertNil(SignalReader.parseDate("2026-12-01 20:13:45"))
        XCTAssertEqual(SignalReader.parseDate("2026-12-01 20:13:45+08:00")?.timeIntervalSince1970, Self.eightPM + 825)
    }

    func testZones() throws {
        XCTAssertEqual(shanghai.name, "Asia/Shanghai")
        let local = try XCTUnwrap(WrittenTime.parse("2026-12-01 20:00:00"))
        XCTAssertEqual(shanghai.moment(ofLocal: local.value).timeIntervalSince1970, Self.eightPM)
        XCTAssertEqual(shanghai.describe(at: Date(timeIntervalSince1970: Self.eightPM)), "Asia/Shanghai (+08:00)")
        XCTAssertEqual(shanghai.iso8601(Date(timeIntervalSince1970: Self.eightPM + 0.25)), "2026-12-01T20:00:00.250+08:00")
        for (text, offset) in [("+08:00", 28_800), ("+0800", 28_800), ("+08", 28_800), ("-05:30", -19_800), ("Z", 0), ("UTC", 0)] {
            let zone = try XCTUnwrap(SignalTimeZone(text), text)
            XCTAssertEqual(zone.offset(at: Date(timeIntervalSince1970: Self.eightPM)), offset, text)
        }
        XCTAssertEqual(SignalTimeZone("+08:00")?.describe(at: Date()), "+08:00")
        // Daylight saving: New York is -05:00 in December, -04:00 in July.
        let newYork = try XCTUnwrap(SignalTimeZone("America/New_York"))
        XCTAssertEqual(newYork.moment(ofLocal: try XCTUnwrap(WrittenTime.parse("2026-12-01 07:00:00")).value).timeIntervalSince1970, Self.eightPM)
        XCTAssertEqual(newYork.moment(ofLocal: try XCTUnwrap(WrittenTime.parse("2026-07-01 08:00:00")).value).timeIntervalSince1970,
                       try XCTUnwrap(SignalReader.parseDate("2026-07-01T12:00:00Z")).timeIntervalSince1970)
        for bad in ["Mars/Olympus", "CST", "+24:00", "+08:60", "8", ""] {
            XCTAssertNil(SignalTimeZone(bad), bad)
        }
    }

    func testRecordingClockFromOptionsOrCreationTime() throws {
        // --recording-start without a zone, read in --timezone.
        let (given, said) = try SignalClock.forRecording(start: "2026-12-01 20:00:00", zone: shanghai, creationTimes: [])
        XCTAssertEqual(given.recordingStart?.timeIntervalSince1970, Self.eightPM)
        XCTAssertEqual(said, [
            "recording start 2026-12-01T20:00:00+08:00: --recording-start 2026-12-01 20:00:00, read as local wall-clock in Asia/Shanghai (+08:00)",
            "times without a zone are read in Asia/Shanghai (+08:00), from --timezone",
        ])
        // Epoch seconds and milliseconds name the same moment.
        for text in ["1796126400", "1796126400000", "2026-12-01T12:00:00Z"] {
            XCTAssertEqual(try SignalClock.forRecording(start: text, zone: nil, creationTimes: []).clock.recordingStart?.timeIntervalSince1970,
                           Self.eightPM, text)
        }
        // A phone's creation date carries its zone; MP4's creation_time (always UTC, "Z") does not.
        let phone = try SignalClock.forRecording(start: nil, zone: nil, creationTimes: [
            ("com.apple.quicktime.creationdate", "2026-12-01T20:00:00+0800"), ("creation_time", "2026-12-01T12:00:00.000000Z"),
        ])
        XCTAssertEqual(phone.clock.recordingStart?.timeIntervalSince1970, Self.eightPM)
        XCTAssertEqual(phone.clock.timeZone.offset(at: Date(timeIntervalSince1970: Self.eightPM)), 28_800)
        XCTAssertEqual(phone.statements.last,
                       "times without a zone are read in +08:00, from the recording's com.apple.quicktime.creationdate 2026-12-01T20:00:00+0800")
        let mp4 = try SignalClock.forRecording(start: nil, zone: nil, creationTimes: [("creation_time", "2026-12-01T12:00:00.000000Z")])
        XCTAssertEqual(mp4.clock.recordingStart?.timeIntervalSince1970, Self.eightPM)
        XCTAssertEqual(mp4.clock.timeZone, .machine)
        // --timezone wins over the recording's zone; a zone-less creation time is read in it.
        let zoneless = try SignalClock.forRecording(start: nil, zone: shanghai, creationTimes: [
            ("com.apple.quicktime.creationdate", "2026-12-01T21:00:00+0900"), ("creation_time", "2026-12-01 20:00:00"),
        ])
        XCTAssertEqual(zoneless.clock.timeZone, shanghai)
        XCTAssertEqual(zoneless.clock.recordingStart?.timeIntervalSince1970, Self.eightPM)

        XCTAssertEqual(expectError(SignalTimeError.self) { try SignalClock.forRecording(start: "8pm", zone: nil, creationTimes: []) }?.description,
                       "--recording-start 8pm is not a time (give ISO 8601, YYYY-MM-DD HH:MM:SS, or Unix epoch seconds or milliseconds)")
        XCTAssertEqual(expectError(SignalTimeError.self) { try SignalClock.forRecording(start: "00:10:00", zone: nil, creationTimes: []) }?.description,
                       "--recording-start 00:10:00 is an offset, not a moment: give when the recording started")
    }

    // MARK: files

    /// A Chinese platform's chat export: zone-less wall-clock times; then the same file mixed with
    /// other forms, and JSON with a live-comment API's milliseconds, danmaku with epoch seconds.
    func testPlatformTimesInFiles() throws {
        let folder = ScratchSpace.makeFolder("signal-times")
        let clock = SignalClock(recordingStart: Date(timeIntervalSince1970: Self.eightPM), timeZone: shanghai)
        let csv = folder.appendingPathComponent("chat.csv")
        try "time,user,text\n2026-12-01 20:13:45,小红,上链接\n2026-12-01 20:00:02.500,小明,多少钱\n2026-12-01 19:59:59,早到,来了\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let chat = try SignalReader.chat(path: csv.path, clock: clock)
        XCTAssertEqual(chat.items.map(\.time), [2.5, 825])
        XCTAssertEqual(chat.badLines, [BadLine(line: 4, reason: "wall-clock time 2026-12-01 19:59:59 is 1 s before the recording's start")])
        XCTAssertEqual(chat.times, "times read as local wall-clock (e.g. 2026-12-01 20:13:45) in Asia/Shanghai (+08:00)")

        let mixed = folder.appendingPathComponent("orders.csv")
        try "t,product\n00:01:00,P1\n1796126520,P1\n1796126580000,P2\n2026-12-01T12:04:00Z,P2\n300,P1\n"
            .write(to: mixed, atomically: true, encoding: .utf8)
        let orders = try SignalReader.orders(path: mixed.path, clock: clock)
        XCTAssertEqual(orders.items.map(\.time), [60, 120, 180, 240, 300])
        XCTAssertEqual(orders.times, "times read as: 1 seconds from the recording's start (e.g. 300); 1 HH:MM:SS from the recording's start (e.g. 00:01:00); "
                       + "1 ISO 8601 moments (e.g. 2026-12-01T12:04:00Z); 1 Unix epoch seconds (e.g. 1796126520); 1 Unix epoch milliseconds (e.g. 1796126580000)")

        let api = folder.appendingPathComponent("chat.jsonl")
        try #"{"t": 1796126410250, "user": "a", "text": "好看"}"#.write(to: api, atomically: true, encoding: .utf8)
        XCTAssertEqual(try SignalReader.chat(path: api.path, clock: clock).items.map(\.time), [10.25])

        let danmaku = folder.appendingPathComponent("chat.xml")
        try #"<i><d p="1796126430,1,25,16777215,1796126430,0,u1,1">上链接</d><d p="31.5,1,25,16777215,1796126431,0,u2,2">好看</d></i>"#
            .write(to: danmaku, atomically: true, encoding: .utf8)
        XCTAssertEqual(try SignalReader.chat(path: danmaku.path, clock: clock).items.map(\.time), [30, 31.5])

        // Without a recording start, epoch times are bad lines that say what is missing.
        XCTAssertEqual(expectError(SignalFileError.self) {
            try SignalReader.chat(path: api.path, clock: SignalClock(recordingStart: nil, timeZone: self.shanghai))
        }?.description, "\(api.path): nothing could be read (1 bad line; line 1: Unix epoch time but the recording's start is unknown (give --recording-start))")
    }

    // MARK: reprise highlights

    /// A 10-s recording, a chat export in platform form (zone-less wall-clock, a burst of 上链接 at
    /// 4–6 s) and a recipe; the plan of `reprise highlights` with `extra` arguments.
    private func plan(recording: URL? = nil, _ extra: [String]) throws -> (Reprise.Run, JSONValue?) {
        let folder = ScratchSpace.makeFolder("highlights-times")
        let input = try recording ?? Fixtures.get(FixtureSpec()).url
        let profiles = folder.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        try HighlightsTests.recipeYAML.write(to: profiles.appendingPathComponent("recipe-test.yaml"), atomically: true, encoding: .utf8)
        var rows = ["time,user,text"]
        for t in 0..<10 { rows.append("2026-12-01 20:00:0\(t).500,u\(t),主播好美") }
        for t in 4..<6 { for k in 0..<8 { rows.append("2026-12-01 20:00:0\(t).\(k)00,v\(k),上链接！") } }
        let chat = folder.appendingPathComponent("chat.csv")
        try rows.joined(separator: "\n").write(to: chat, atomically: true, encoding: .utf8)
        let run = try Reprise.run(["highlights", input.path, "-o", folder.appendingPathComponent("out").path, "--chat", chat.path,
                                   "--recipe", "test", "--profile-dir", profiles.path, "--plan-only"] + extra)
        return (run, run.summary())
    }

    /// The reported bug: `--recording-start "2026-12-01 20:00:00"` was refused and the CSV's
    /// `2026-12-01 20:13:45` times were all bad lines. Now both are read in --timezone, the plan says
    /// so, and the burst of 上链接 becomes a window and a tag with its count.
    func testZoneLessRecordingStartAndChatReadInTimezone() throws {
        let (run, plan) = try plan(["--recording-start", "2026-12-01 20:00:00", "--timezone", "Asia/Shanghai"])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertEqual(plan?["signals"]?["chat"]?["items"]?.int, 26, run.transcript)
        XCTAssertEqual(plan?["signals"]?["chat"]?["badLines"]?.array?.count, 0)
        XCTAssertEqual(plan?["signals"]?["chat"]?["times"]?.string,
                       "times read as local wall-clock (e.g. 2026-12-01 20:00:00.500) in Asia/Shanghai (+08:00)")
        XCTAssertEqual(plan?["recordingStart"]?.string, "2026-12-01T20:00:00+08:00")
        XCTAssertEqual(plan?["times"]?.array?.compactMap(\.string), [
            "recording start 2026-12-01T20:00:00+08:00: --recording-start 2026-12-01 20:00:00, read as local wall-clock in Asia/Shanghai (+08:00)",
            "times without a zone are read in Asia/Shanghai (+08:00), from --timezone",
        ])
        let windows = (plan?["windows"]?.array ?? []).compactMap { w in w["start"]?.double.flatMap { s in w["end"]?.double.map { (s, $0) } } }
        XCTAssertTrue(windows.contains { $0.0 <= 4.5 && $0.1 >= 5.5 }, "no window over the burst at 4–6 s: \(windows)")
        let reel = plan?["outputs"]?.array?.first { $0["form"]?.string == "reel" }
        let ranges = (reel?["ranges"]?.array ?? []).map { $0.array?.compactMap(\.double) ?? [] }.filter { $0.count == 2 }
        XCTAssertFalse(ranges.isEmpty, "no reel: \(run.transcript)")
        let burst = (4..<6).flatMap { t in (0..<8).map { Double(t) + Double($0) / 10 } }
        let inReel = burst.filter { t in ranges.contains { $0[0] <= t && t < $0[1] } }.count
        let tags = (reel?["tags"]?.array ?? []).map { [$0["tag"]?.string ?? "", $0["count"]?.int.map(String.init) ?? "-", $0["source"]?.string ?? ""] }
        XCTAssertGreaterThan(inReel, 8)
        XCTAssertEqual(tags.first, ["上链接", "\(inReel)", "chat"], "the burst, counted whole: \(tags)")
        XCTAssertFalse(tags.contains { ["播好", "好美", "链接"].contains($0[0]) }, "no pieces of messages: \(tags)")
    }

    /// No --recording-start, no --timezone: a phone recording's creation date (with its offset)
    /// gives both the start and the zone of the chat's wall-clock times.
    func testCreationTimeGivesStartAndZone() throws {
        let folder = ScratchSpace.makeFolder("creation-zone")
        let phone = folder.appendingPathComponent("phone.mp4")
        try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-i", try Fixtures.get(FixtureSpec()).url.path,
                                          "-c", "copy", "-movflags", "use_metadata_tags",
                                          "-metadata", "com.apple.quicktime.creationdate=2026-12-01T20:00:00+0800",
                                          "-metadata", "creation_time=2026-12-01T12:00:00Z", phone.path])
        let (run, plan) = try plan(recording: phone, [])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertEqual(plan?["signals"]?["chat"]?["items"]?.int, 26, run.transcript)
        XCTAssertEqual(plan?["signals"]?["chat"]?["times"]?.string,
                       "times read as local wall-clock (e.g. 2026-12-01 20:00:00.500) in +08:00")
        XCTAssertEqual(plan?["times"]?.array?.compactMap(\.string).last,
                       "times without a zone are read in +08:00, from the recording's com.apple.quicktime.creationdate 2026-12-01T20:00:00+0800")
    }

    func testBadTimezoneAndRecordingStartAreRefused() throws {
        let input = try Fixtures.get(FixtureSpec()).url.path
        let out = ScratchSpace.makeFolder("bad-times").appendingPathComponent("out").path
        let zone = try Reprise.run(["highlights", input, "-o", out, "--timezone", "Mars/Olympus", "--plan-only"])
        XCTAssertNotEqual(zone.status, 0)
        XCTAssertTrue(zone.transcriptText.contains("--timezone Mars/Olympus is not a time zone"), zone.transcript)
        let start = try Reprise.run(["highlights", input, "-o", out, "--recording-start", "8pm", "--plan-only"])
        XCTAssertNotEqual(start.status, 0)
        XCTAssertTrue(start.transcriptText.contains("--recording-start 8pm is not a time"), start.transcript)
    }
}
