import Foundation
import XCTest

/// `reprise probe FILE --json`, checked against what ffprobe and the fixture's making say.
final class ProbeTests: XCTestCase {
    /// Runs the probe and returns its JSON object (failing the test if there is none).
    private func probe(_ spec: FixtureSpec, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let fixture = try Fixtures.get(spec)
        let run = try Reprise.run(["probe", fixture.url.path, "--json"])
        XCTAssertEqual(run.status, 0, run.transcript, file: file, line: line)
        return try XCTUnwrap(run.json(), "probe printed no JSON object:\n\(run.transcript)", file: file, line: line)
    }

    private func number(_ value: Any?) -> Double? {
        if let n = value as? NSNumber, !(value is Bool) { return n.doubleValue }
        if let s = value as? String { return FFprobe.rational(s) }
        return nil
    }

    private func streams(_ json: [String: Any], type: String) -> [[String: Any]] {
        ((json["streams"] as? [[String: Any]]) ?? []).filter { $0["type"] as? String == type }
    }

    /// Fields every probe must get right for a plain file.
    private func assertBasics(_ json: [String: Any], _ spec: FixtureSpec, codec: String, profile: String,
                              pixelFormat: String, openGOP: Bool,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let truth = try SourceWitness.of(spec)
        XCTAssertEqual(number(json["duration"]) ?? -1, truth.video.format.durationSeconds ?? 0, accuracy: 0.05,
                       "duration", file: file, line: line)
        XCTAssertEqual(number(json["startTime"]) ?? -1, truth.video.formatStart, accuracy: 0.001, "startTime",
                       file: file, line: line)
        let video = try XCTUnwrap(streams(json, type: "video").first, "no video stream in \(json)", file: file, line: line)
        XCTAssertEqual(video["codec"] as? String, codec, file: file, line: line)
        XCTAssertEqual(number(video["index"]), 0, "video stream index", file: file, line: line)
        XCTAssertEqual(number(video["width"]), Double(spec.width), file: file, line: line)
        XCTAssertEqual(number(video["height"]), Double(spec.height), file: file, line: line)
        XCTAssertEqual(video["profile"] as? String, profile, file: file, line: line)
        XCTAssertEqual(video["pixelFormat"] as? String, pixelFormat, file: file, line: line)
        XCTAssertEqual(number(video["rotation"]), Double(spec.rotation), "rotation", file: file, line: line)
        XCTAssertEqual(video["isVFR"] as? Bool, spec.timing == .variable, "isVFR", file: file, line: line)
        if spec.timing == .constant {
            XCTAssertEqual(number(video["frameRate"]) ?? 0, Double(spec.fps), accuracy: 0.01, "frameRate",
                           file: file, line: line)
        }
        let audio = try XCTUnwrap(streams(json, type: "audio").first, "no audio stream", file: file, line: line)
        XCTAssertEqual(audio["codec"] as? String, "aac", file: file, line: line)
        XCTAssertEqual(number(audio["index"]), 1, "audio stream index", file: file, line: line)

        let interval = try XCTUnwrap(json["keyframeInterval"] as? [String: Any], "keyframeInterval", file: file, line: line)
        // Seconds between consecutive keyframes, from the file itself (CFR: gop / fps).
        let gaps = zip(truth.keyframes, truth.keyframes.dropFirst()).map { truth.times[$1] - truth.times[$0] }.sorted()
        let expected = ["min": gaps.first ?? 0, "median": gaps[gaps.count / 2], "max": gaps.last ?? 0]
        if spec.timing == .constant {
            XCTAssertEqual(gaps.first ?? 0, Double(spec.gop) / Double(spec.fps), accuracy: 0.001, file: file, line: line)
        }
        for (key, seconds) in expected {
            XCTAssertEqual(number(interval[key]) ?? 0, seconds, accuracy: 0.05, "keyframeInterval.\(key)",
                           file: file, line: line)
        }
        XCTAssertEqual(json["openGOP"] as? Bool, openGOP, "openGOP", file: file, line: line)
        XCTAssertTrue(json.keys.contains("damagedTailAt"), "damagedTailAt key missing", file: file, line: line)
        XCTAssertTrue(json["damagedTailAt"] is NSNull, "damagedTailAt should be null for an intact file",
                      file: file, line: line)
    }

    func testProbeH264MP4() throws {
        let json = try probe(.h264MP4)
        try assertBasics(json, .h264MP4, codec: "h264", profile: "High", pixelFormat: "yuv420p", openGOP: false)
        let container = (json["container"] as? String ?? "").lowercased()
        XCTAssertTrue(container.contains("mp4") || container.contains("mov"), "container: \(container)")
    }

    func testProbeHEVCOpenGOP() throws {
        let json = try probe(.hevcMP4)
        try assertBasics(json, .hevcMP4, codec: "hevc", profile: "Main", pixelFormat: "yuv420p", openGOP: true)
    }

    func testProbeHEVC10Bit() throws {
        let json = try probe(.hevc10MP4)
        try assertBasics(json, .hevc10MP4, codec: "hevc", profile: "Main 10", pixelFormat: "yuv420p10le", openGOP: true)
    }

    func testProbeRotatedMP4ReportsRotation90() throws {
        let json = try probe(.h264MP4Rotated)
        try assertBasics(json, .h264MP4Rotated, codec: "h264", profile: "High", pixelFormat: "yuv420p", openGOP: false)
    }

    func testProbeVFRMP4ReportsVFR() throws {
        let json = try probe(.h264MP4VFR)
        try assertBasics(json, .h264MP4VFR, codec: "h264", profile: "High", pixelFormat: "yuv420p", openGOP: false)
    }

    /// Matroska whose timestamps start at 1000 s: startTime is the container's start.
    func testProbeMKVStartingAt1000s() throws {
        let json = try probe(.h264MKVOffset)
        try assertBasics(json, .h264MKVOffset, codec: "h264", profile: "High", pixelFormat: "yuv420p", openGOP: false)
        let container = (json["container"] as? String ?? "").lowercased()
        XCTAssertTrue(container.contains("matroska") || container.contains("mkv"), "container: \(container)")
    }
}
