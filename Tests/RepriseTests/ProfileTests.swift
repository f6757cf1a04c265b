import Foundation
import XCTest
@testable import RepriseProfiles

/// Profile files: the shipped ones are what the product promises; a bad file is an error that
/// names the file, the line, the field and what is allowed; later folders override earlier ones.
final class ProfileTests: XCTestCase {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Profiles").path

    func write(_ text: String, name: String = "p.yaml", in folder: URL? = nil) throws -> String {
        let dir = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testShippedProfilesLoadWithThePromisedShapes() throws {
        let library = try ProfileLibrary(folders: [Self.shipped])
        XCTAssertEqual(Set(library.profiles.keys), ["vertical-short", "long-form", "long-form-720p", "overseas-low", "overseas-low-hevc"])

        let short = try XCTUnwrap(library.profile(named: "vertical-short"))
        XCTAssertEqual([short.video.width, short.video.height], [1080, 1920])
        XCTAssertEqual(short.video.codec, .h264)
        XCTAssertEqual(short.video.profile, "high")
        XCTAssertEqual(short.video.maxFrameRate, 30)
        XCTAssertEqual(short.video.maxBitrate, 6_000_000)
        XCTAssertNotNil(short.video.quality)
        XCTAssertEqual(short.audio.loudness, -14)
        XCTAssertEqual(short.audio.truePeak, -1)
        XCTAssertEqual(short.audio.sampleRate, 48000)
        XCTAssertEqual(short.maxDuration, 180)

        let long = try XCTUnwrap(library.profile(named: "long-form"))
        XCTAssertEqual([long.video.width, long.video.height], [1920, 1080])
        XCTAssertTrue(long.chapters)
        XCTAssertEqual(library.profile(named: "long-form-720p")?.video.height, 720)

        let low = try XCTUnwrap(library.profile(named: "overseas-low"))
        XCTAssertLessThanOrEqual(low.video.height, 540)
        XCTAssertEqual(low.video.profile, "main")
        XCTAssertTrue((600_000...900_000).contains(low.video.bitrate ?? 0))
        XCTAssertEqual(low.video.gopSeconds, 2)
        XCTAssertTrue((48_000...64_000).contains(low.audio.bitrate))
        XCTAssertNotNil(low.audio.loudness)
        XCTAssertEqual(low.audio.codec, .opus, "efficient low-rate audio this FFmpeg build can encode (no libfdk_aac for HE-AAC)")

        let hevc = try XCTUnwrap(library.profile(named: "overseas-low-hevc"))
        XCTAssertEqual(hevc.video.codec, .hevc)
        XCTAssertLessThanOrEqual(hevc.video.height, 540)
        XCTAssertLessThan(hevc.video.bitrate ?? .max, low.video.bitrate ?? 0, "the HEVC variant spends fewer bits")
    }

    /// Each bad file: the message carries file, line, field and what is allowed.
    func testBadProfilesNameFileLineAndField() throws {
        let cases: [(yaml: String, line: Int?, field: String?, says: String)] = [
            ("video:\n  width: 1280\n  height: 720\n  fit: zoom\n  quality: 20\n", 4, "video.fit", "crop, pad, blur-pad, follow"),
            ("video:\n  width: 1280\n  height: 720\n  quality: 20\n  widht: 3\n", 5, "video.widht", "allowed here"),
            ("video:\n  height: 720\n  quality: 20\n", nil, "video.width", "missing"),
            ("video:\n  width: 1281\n  height: 720\n  quality: 20\n", 2, "video.width", "even"),
            ("video:\n  width: 1280\n  height: 720\n  bitrate: lots\n", 4, "video.bitrate", "900k or 6M"),
            ("video:\n  width: 1280\n  height: 720\n  quality: 20\naudio:\n  channels: 12\n", 6, "audio.channels", "1…8"),
            ("video:\n  width: 1280\n  height: 720\n  quality: 20\nduration:\n  min: 200\n  max: 100\n", 6, "duration.min", "longer than max"),
            ("video:\n  width: 1280\n  height: 720\n  quality: 20\ncontainer: avi\n", 5, "container", "mp4, mkv, ts"),
            ("video: [1, 2\n", 2, nil, "not valid YAML"),
        ]
        for c in cases {
            let path = try write(c.yaml)
            XCTAssertThrowsError(try ProfileLoader.load(path: path), c.yaml) { error in
                guard let e = error as? ProfileError else { return XCTFail("not a ProfileError: \(error)") }
                XCTAssertEqual(e.file, path)
                if let line = c.line { XCTAssertEqual(e.line, line, "line for \(c.yaml)") }
                XCTAssertEqual(e.field, c.field, "field for \(c.yaml)")
                XCTAssertTrue(e.description.contains(c.says), "'\(e)' should say \(c.says)")
                XCTAssertTrue(e.description.hasPrefix(path), "'\(e)' should start with the file")
            }
        }
    }

    func testALaterFolderOverridesByNameAndSaysWhich() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("override-\(UUID().uuidString)")
        let mine = try write("name: vertical-short\nvideo:\n  width: 720\n  height: 1280\n  fit: blur-pad\n  quality: 23\n",
                             name: "my-short.yaml", in: folder)
        let library = try ProfileLibrary(folders: [Self.shipped, folder.path])
        let short = try XCTUnwrap(library.profile(named: "vertical-short"))
        XCTAssertEqual(short.source, mine)
        XCTAssertEqual(short.video.fit, .blurPad)
        XCTAssertEqual(library.overridden["vertical-short"], [Self.shipped + "/vertical-short.yaml"])
        XCTAssertEqual(library.profiles.count, 5, "replaced, not added")
    }

    func testTheCommandListsProfilesAndRejectsABadFile() throws {
        let listed = try Reprise.run(["profiles"])
        XCTAssertEqual(listed.status, 0, listed.transcript)
        for name in ["vertical-short", "long-form", "long-form-720p", "overseas-low", "overseas-low-hevc"] {
            XCTAssertTrue(listed.output.stdoutText.contains(name + "\t"), "\(name) not listed")
        }
        XCTAssertTrue(listed.output.stdoutText.contains("Profiles/vertical-short.yaml"), "source file not shown")

        let bad = try write("video:\n  width: 1280\n  height: 720\n  fit: zoom\n  quality: 20\n")
        let run = try Reprise.run(["profiles", "--profile-dir", (bad as NSString).deletingLastPathComponent])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderrLines.count, 1, run.transcript)
        XCTAssertTrue(run.output.stderrText.contains("\(bad):4: video.fit"), run.transcript)
    }
}
