import Foundation
import XCTest
import RepriseCore

/// The one publish path: a file or folder appears under its final name whole, or not at all.
final class AtomicPublishTests: XCTestCase {
    func testWriteLeavesOnlyTheFinalFileAndReplacesAnOldOne() throws {
        let folder = ScratchSpace.makeFolder("publish")
        let path = folder.appendingPathComponent("cover.jpg").path
        var seen: [(String, Bool)] = []
        try AtomicPublish.write(Data("old".utf8), to: path)
        try AtomicPublish.write(Data("new".utf8), to: path) { seen.append(($0, $1)) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new")
        XCTAssertEqual(FileSnapshot.listing(folder), ["cover.jpg"])
        XCTAssertEqual(seen.map(\.1), [true, false], "the temporary is announced, then released")
        let temporary = try XCTUnwrap(seen.first?.0)
        XCTAssertTrue(URL(fileURLWithPath: temporary).lastPathComponent.hasPrefix(".cover.jpg.partial-"))
        XCTAssertTrue(temporary.hasSuffix(".jpg"), "the extension is kept")
    }

    func testWriteIntoAMissingFolderFailsNamingTheFileAndLeavesNothing() {
        let folder = ScratchSpace.makeFolder("publish-missing")
        let path = folder.appendingPathComponent("no/such/folder/x.bin").path
        XCTAssertThrowsError(try AtomicPublish.write(Data([1, 2, 3]), to: path)) { error in
            XCTAssertTrue("\(error)".contains("x.bin"), "\(error)")
        }
        XCTAssertEqual(FileSnapshot.listing(folder), [])
    }

    func testReplaceFolderSwapsAWholeFolder() throws {
        let folder = ScratchSpace.makeFolder("publish-folder")
        let final = folder.appendingPathComponent("ladder").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: final, withIntermediateDirectories: true)
        try Data("v1".utf8).write(to: URL(fileURLWithPath: final + "/master.m3u8"))
        try Data("stale".utf8).write(to: URL(fileURLWithPath: final + "/only-in-old.m3u8"))
        let work = folder.appendingPathComponent(".ladder.partial-1").path
        try fm.createDirectory(atPath: work + "/360p", withIntermediateDirectories: true)
        try Data("v2".utf8).write(to: URL(fileURLWithPath: work + "/master.m3u8"))
        try Data("seg".utf8).write(to: URL(fileURLWithPath: work + "/360p/seg_00000.m4s"))
        try AtomicPublish.replaceFolder(final, with: work)
        XCTAssertEqual(FileSnapshot.listing(folder), ["ladder"], "no work or old folder left")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: final).sorted(), ["360p", "master.m3u8"])
        XCTAssertEqual(try String(contentsOfFile: final + "/master.m3u8", encoding: .utf8), "v2")
    }

    func testMoveNeverReplacesAFile() throws {
        let folder = ScratchSpace.makeFolder("publish-move")
        let a = folder.appendingPathComponent("a.mp4").path, b = folder.appendingPathComponent("b.mp4").path
        try Data("A".utf8).write(to: URL(fileURLWithPath: a))
        try Data("B".utf8).write(to: URL(fileURLWithPath: b))
        XCTAssertFalse(AtomicPublish.moveWithoutReplacing(a, to: b))
        XCTAssertEqual(try String(contentsOfFile: b, encoding: .utf8), "B")
        let c = folder.appendingPathComponent("c.mp4").path
        XCTAssertTrue(AtomicPublish.moveWithoutReplacing(a, to: c))
        XCTAssertEqual(FileSnapshot.listing(folder), ["b.mp4", "c.mp4"])
    }
}
