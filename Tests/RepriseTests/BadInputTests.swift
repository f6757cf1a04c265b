import Foundation
import XCTest

/// Errors: `reprise` exits non-zero, prints ONE line on stderr naming the offending file,
/// leaves nothing at the output path (nor a temporary file beside it), and leaves the source alone.
final class BadInputTests: XCTestCase {
    /// Runs `reprise` with `arguments` and checks the error contract.
    /// - Parameters:
    ///   - outputFolder: must be left exactly as it was (no output, no `.partial` file).
    ///   - output: must not exist afterwards.
    ///   - source: if it exists, must keep its bytes and modification time.
    ///   - named: the path the error line must contain.
    private func assertRejected(_ arguments: [String], outputFolder: URL, output: URL, source: URL?, named: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let before = FileSnapshot.listing(outputFolder)
        let snapshot = try source.flatMap { FileManager.default.fileExists(atPath: $0.path) ? try FileSnapshot($0) : nil }
        let run = try Reprise.run(arguments)
        XCTAssertNotEqual(run.status, 0, "should fail:\n\(run.transcript)", file: file, line: line)
        XCTAssertEqual(run.stderrLines.count, 1, "want exactly one stderr line:\n\(run.transcript)", file: file, line: line)
        XCTAssertTrue(run.output.stderrText.contains(named), "stderr must name \(named):\n\(run.transcript)",
                      file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "output left behind", file: file, line: line)
        XCTAssertEqual(FileSnapshot.listing(outputFolder), before, "files left in the output folder", file: file, line: line)
        if let source, let snapshot {
            XCTAssertEqual(try FileSnapshot(source), snapshot, "source changed", file: file, line: line)
        }
    }

    /// A fresh output folder and an output path in it.
    private func outputPlace(_ name: String = "out.mp4") -> (folder: URL, output: URL) {
        let folder = ScratchSpace.makeFolder("bad-out")
        return (folder, folder.appendingPathComponent(name))
    }

    /// A copy of a fixture in a folder of its own (so nothing else shares it).
    private func copyOf(_ spec: FixtureSpec) throws -> URL {
        let fixture = try Fixtures.get(spec)
        let url = ScratchSpace.makeFolder("bad-in").appendingPathComponent(fixture.url.lastPathComponent)
        try FileManager.default.copyItem(at: fixture.url, to: url)
        return url
    }

    func testMissingInputFile() throws {
        let input = ScratchSpace.makeFolder("bad-in").appendingPathComponent("no-such-file.mp4")
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "1", "--to", "2"],
                           outputFolder: folder, output: output, source: nil, named: input.path)
    }

    func testTextFileNamedMP4() throws {
        let input = ScratchSpace.makeFolder("bad-in").appendingPathComponent("notes.mp4")
        try Data("This is not a video, just some text.\n".utf8).write(to: input)
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "1", "--to", "2"],
                           outputFolder: folder, output: output, source: input, named: input.path)
    }

    /// The first half of a real MP4 (whose index, the moov box, is at the end).
    func testTruncatedMP4() throws {
        let whole = try Data(contentsOf: try Fixtures.get(.h264MP4).url)
        let input = ScratchSpace.makeFolder("bad-in").appendingPathComponent("truncated.mp4")
        try whole.prefix(whole.count / 2).write(to: input)
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "0.5", "--to", "1.0"],
                           outputFolder: folder, output: output, source: input, named: input.path)
    }

    /// A range that lies wholly after the end of a 10 s recording.
    func testRangeOutsideTheRecording() throws {
        let input = try copyOf(.h264MP4)
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "100", "--to", "101"],
                           outputFolder: folder, output: output, source: input, named: input.path)
    }

    func testFromAfterTo() throws {
        let input = try copyOf(.h264MP4)
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "3", "--to", "2"],
                           outputFolder: folder, output: output, source: input, named: input.path)
    }

    func testFromEqualToTo() throws {
        let input = try copyOf(.h264MP4)
        let (folder, output) = outputPlace()
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "2", "--to", "2"],
                           outputFolder: folder, output: output, source: input, named: input.path)
    }

    /// The output's folder cannot be written: its "folder" is a regular file (this holds even for
    /// root, who ignores permission bits). When not root, a read-only folder is tried too.
    func testUnwritableOutputFolder() throws {
        let input = try copyOf(.h264MP4)
        let place = ScratchSpace.makeFolder("bad-out")
        let blocker = place.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: blocker)
        let output = blocker.appendingPathComponent("out.mp4")
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "1", "--to", "2"],
                           outputFolder: place, output: output, source: input, named: blocker.path)
        XCTAssertEqual(try Data(contentsOf: blocker), Data("x".utf8))

        if getuid() != 0 {
            let readOnly = ScratchSpace.makeFolder("read-only")
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readOnly.path) }
            let output = readOnly.appendingPathComponent("out.mp4")
            try assertRejected(["cut", input.path, "-o", output.path, "--from", "1", "--to", "2"],
                               outputFolder: readOnly, output: output, source: input, named: readOnly.path)
        }
    }

    func testUnknownOutputExtension() throws {
        let input = try copyOf(.h264MP4)
        let (folder, output) = outputPlace("out.xyz")
        try assertRejected(["cut", input.path, "-o", output.path, "--from", "1", "--to", "2"],
                           outputFolder: folder, output: output, source: input, named: output.path)
    }

    /// `probe` of a file that is not media fails the same way.
    func testProbeOfTextFile() throws {
        let input = ScratchSpace.makeFolder("bad-in").appendingPathComponent("notes.mkv")
        try Data("plain text\n".utf8).write(to: input)
        let folder = input.deletingLastPathComponent()
        try assertRejected(["probe", input.path, "--json"], outputFolder: folder,
                           output: folder.appendingPathComponent("none"), source: input, named: input.path)
    }
}
