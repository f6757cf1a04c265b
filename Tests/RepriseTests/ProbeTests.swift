import Foundation
import XCTest

/// `reprise probe FILE --json`, checked against what ffprobe and the fixture's making say.
final class ProbeTests: XCTestCase {
    /// Runs the probe and returns its JSON object (failing the test if there is none).
    private func probe(_ spec: FixtureSpec, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let fixture = try Fixtures.get(spec)
        let run = try Reprise.run(["probe", fixture.url.path, "--json"])
        XCTAssertEqual(run.status, 0, run.transcript, file: file, line: line)
        return try XCTUnwrap(run.json(), "probe printed no JSON object:\n\(run.transcript)", file: file, line: line)
    }

    private func streams(_ json: JSONValue, type: String) -> [JSONValue] {
        (json["streams"]?.array ?? []).filter { $0["type"]?.string == type }
    }

    /// Fields every probe must get right for a plain file.
    private func assertBasics(_ json: JSONValue, _ spec: FixtureSpec, codec: String, profile: String,
                              pixelFormat: String, openGOP: Bool,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let truth = try SourceWitness.of(spec)
        XCTAssertEqual(json["duration"]?.double ?? -1, truth.video.format.durationSeconds ?? 0, accuracy: 0.05,
                       "duration", file: file, line: line)
        XCTAssertEqual(json["startTime"]?.double ?? -1, truth.video.formatStart, accuracy: 0.001, "startTime",
                       file: file, line: line)
        let video = try XCTUnwrap(streams(json, type: "video").first, "no video stream in \(json)", file: file, line: line)
        XCTAssertEqual(video["codec"]?.string, codec, file: file, line: line)
        XCTAssertEqual(video["index"]?.double, 0, "video stream index", file: file, line: line)
        XCTAssertEqual(video["width"]?.double, Double(spec.width), file: file, line: line)
        XCTAssertEqual(video["height"]?.double, Double(spec.height), file: file, line: line)
        XCTAssertEqual(video["profile"]?.string, profile, file: file, line: line)
        XCTAssertEqual(video["pixelFormat"]?.string, pixelFormat, file: file, line: line)
        XCTAssertEqual(video["rotation"]?.double, Double(spec.rotation), "rotation", file: file, line: line)
        XCTAssertEqual(video["isVFR"]?.bool, spec.timing == .variable, "isVFR", file: file, line: line)
        if spec.timing == .constant {
            XCTAssertEqual(video["frameRate"]?.double ?? 0, Double(spec.fps), accuracy: 0.01, "frameRate",
                           file: file, line: line)
        }
        let audio = try XCTUnwrap(streams(json, type: "audio").first, "no audio stream", file: file, line: line)
        XCTAssertEqual(audio["codec"]?.string, "aac", file: file, line: line)
        XCTAssertEqual(audio["index"]?.double, 1, "audio stream index", file: file, line: line)

        let interval = try XCTUnwrap(json["keyframeInterval"]?.object, "keyframeInterval", file: file, line: line)
        // Seconds between consecutive keyframes, from the file itself (CFR: gop / fps).
        let gaps = zip(truth.keyframes, truth.keyframes.dropFirst()).map { truth.times[$1] - truth.times[$0] }.sorted()
        let expected = ["min": gaps.first ?? 0, "median": gaps[gaps.count / 2], "max": gaps.last ?? 0]
        if spec.timing == .constant {
            XCTAssertEqual(gaps.first ?? 0, Double(spec.gop) / Double(spec.fps), accuracy: 0.001, file: file, line: line)
        }
        for (key, seconds) in expected {
            XCTAssertEqual(interval[key]?.double ?? 0, seconds, accuracy: 0.05, "keyframeInterval.\(key)",
                           file: file, line: line)
        }
        XCTAssertEqual(json["openGOP"]?.bool, openGOP, "openGOP", file: file, line: line)
        XCTAssertEqual(json["damagedTailAt"], .null, "damagedTailAt must be present and null for an intact file",
                       file: file, line: line)
    }

    func testProbeH264MP4() throws {
        let json = try probe(.h264MP4)
        try assertBasics(json, .h264MP4, codec: "h264", profile: "High", pixelFormat: "yuv420p", openGOP: false)
        let container = (json["container"]?.string ?? "").lowercased()
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

    /// The fixture's display matrix turns the picture 90° counterclockwise; ffprobe says
    /// "rotation": 90. The probe must say 90 too (display-matrix convention, not 270 clockwise).
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
        let container = (json["container"]?.string ?? "").lowercased()
        XCTAssertTrue(container.contains("matroska") || container.contains("mkv"), "container: \(container)")
    }
}
