import Foundation
import XCTest
import RepriseJobs

/// How the job store recognises an input: a sampled content hash, not the modification time.
final class InputIdentityTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testInputIdentityHashesSampledContentNotTheModificationTime() throws {
        let file = folder.appendingPathComponent("big.mkv")
        let size: UInt64 = 64 << 20
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: size)  // sparse: zeros without writing 64 MiB
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data("matroska header".utf8))
        try handle.close()
        func poke(_ offset: UInt64, _ byte: UInt8) throws {
            let h = try FileHandle(forWritingTo: file)
            try h.seek(toOffset: offset)
            try h.write(contentsOf: Data([byte]))
            try h.close()
        }
        func setModified(_ seconds: Double) throws {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)],
                                                  ofItemAtPath: file.path)
        }

        try setModified(1_700_000_000)
        let original = try InputIdentity.of(path: file.path)
        XCTAssertEqual(original.path, file.path)
        XCTAssertEqual(original.size, Int64(size))
        XCTAssertEqual(original.modified, 1_700_000_000)
        XCTAssertEqual(original.hash.count, 32)
        XCTAssertEqual(try InputIdentity.of(path: file.path), original, "the same file reads the same")

        // Only the mtime changes: same hash.
        try setModified(1_700_000_500)
        let touched = try InputIdentity.of(path: file.path)
        XCTAssertEqual(touched.hash, original.hash)
        XCTAssertEqual(touched.modified, 1_700_000_500)

        // One byte in the middle: another hash. Put back: the first hash again.
        try poke(size / 2, 0x01)
        try setModified(1_700_000_000)
        let changed = try InputIdentity.of(path: file.path)
        XCTAssertNotEqual(changed.hash, original.hash)
        XCTAssertEqual(changed.size, original.size)
        XCTAssertEqual(changed.modified, original.modified)
        try poke(size / 2, 0x00)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, original.hash)

        // The last byte is sampled too; a byte between samples is not (documented limit).
        try poke(size - 1, 0x01)
        XCTAssertNotEqual(try InputIdentity.of(path: file.path).hash, original.hash)
        try poke(size - 1, 0x00)
        try poke(8 << 20, 0x01)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, original.hash)

        XCTAssertThrowsError(try InputIdentity.of(path: folder.appendingPathComponent("missing").path))
    }

    func testInputIdentityOfASmallFileHashesAllOfIt() throws {
        let file = folder.appendingPathComponent("small.ts")
        var bytes = [UInt8](repeating: 7, count: 100_000)
        try Data(bytes).write(to: file)
        let first = try InputIdentity.of(path: file.path)
        XCTAssertEqual(first.size, 100_000)
        bytes[12_345] = 8
        try Data(bytes).write(to: file)
        XCTAssertNotEqual(try InputIdentity.of(path: file.path).hash, first.hash)
        // Empty file: the hash of the size alone, stable.
        try Data().write(to: file)
        XCTAssertEqual(try InputIdentity.of(path: file.path).hash, try InputIdentity.of(path: file.path).hash)
        XCTAssertEqual(try InputIdentity.of(path: file.path).size, 0)
    }
}
