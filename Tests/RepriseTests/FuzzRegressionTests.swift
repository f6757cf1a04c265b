import Foundation
import XCTest
import RepriseHighlights
import RepriseHLS
import RepriseProfiles

/// Inputs that crashed a fuzz target (scripts/fuzz.sh, Fuzz/*.swift), fed through the same public API
/// with the same bytes (the target's selector byte removed): each must now fail cleanly.
final class FuzzRegressionTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-regression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func file(_ name: String, base64: String) throws -> String {
        let data = try XCTUnwrap(Data(base64Encoded: base64))
        let url = folder.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// `profiles` target: `bitrate: 1e30` trapped converting 1e30 bits/s to Int (ProfileReader.bitrate).
    func testProfileBitrateTooLargeForIntIsAnError() throws {
        // "video:\n  width: 64\n  height: 64\n  bitrate: 1e30\n"
        let path = try file("huge.yaml", base64: "dmlkZW86CiAgd2lkdGg6IDY0CiAgaGVpZ2h0OiA2NAogIGJpdHJhdGU6IDFlMzAK")
        let error = try XCTUnwrap(expectError(ProfileError.self) { try ProfileLoader.load(path: path) })
        XCTAssertEqual(error.field, "video.bitrate")
        XCTAssertEqual(error.line, 4)
        XCTAssertTrue(error.problem.contains("out of range"), error.description)

        let inf = try file("inf.yaml", base64: Data("video:\n  width: 64\n  height: 64\n  bitrate: infM\n".utf8).base64EncodedString())
        XCTAssertEqual(expectError(ProfileError.self) { try ProfileLoader.load(path: inf) }?.field, "video.bitrate")
    }

    /// `profiles` target: a rung's `bitrate: 9223372036854775807` overflowed `bitrate * 3 / 2`
    /// (the default max_bitrate) in LadderLoader.
    func testLadderRungBitrateAtIntMaxIsAnError() throws {
        // "rungs:\n  - width: 64\n    height: 64\n    bitrate: 9223372036854775807\n"
        let path = try file("ladder-huge.yaml",
                            base64: "cnVuZ3M6CiAgLSB3aWR0aDogNjQKICAgIGhlaWdodDogNjQKICAgIGJpdHJhdGU6IDkyMjMzNzIwMzY4NTQ3NzU4MDcK")
        let error = try XCTUnwrap(expectError(ProfileError.self) { try LadderLoader.load(path: path) })
        XCTAssertEqual(error.field, "rungs[0].bitrate")
        XCTAssertTrue(error.problem.contains("out of range"), error.description)
    }

    /// The same bound keeps later arithmetic on these values from overflowing: a profile's
    /// max_bitrate (doubled for the encoder's buffer) and the daemon's disk reserve (added to a job's needs).
    func testHugeMaxBitrateAndDiskReserveAreErrors() throws {
        let profile = try file("p.yaml", base64: Data("video:\n  width: 64\n  height: 64\n  quality: 23\n  max_bitrate: 9223372036854775807\n".utf8).base64EncodedString())
        XCTAssertEqual(expectError(ProfileError.self) { try ProfileLoader.load(path: profile) }?.field, "video.max_bitrate")
        let config = try file("reprise.yaml", base64: Data("disk_reserve: 9000000P\nwatch:\n  - folder: /in\n    output: /out\n    forms: [shorts]\n".utf8).base64EncodedString())
        XCTAssertNotNil(expectError(ProfileError.self) { try DaemonConfigLoader.load(path: config) })
        let big = try file("reprise2.yaml", base64: Data("disk_reserve: 9223372036854775807\nwatch:\n  - folder: /in\n    output: /out\n    forms: [shorts]\n".utf8).base64EncodedString())
        XCTAssertEqual(expectError(ProfileError.self) { try DaemonConfigLoader.load(path: big) }?.field, "disk_reserve")
        // Ordinary values are unchanged.
        let ok = try file("ok.yaml", base64: Data("video:\n  width: 64\n  height: 64\n  bitrate: 6M\n  max_bitrate: 900000000000\n".utf8).base64EncodedString())
        let loaded = try ProfileLoader.load(path: ok)
        XCTAssertEqual(loaded.video.bitrate, 6_000_000)
        XCTAssertEqual(loaded.video.maxBitrate, 900_000_000_000)
    }

    /// `hls` target: `#EXT-X-BYTERANGE:9223372036854775807@1` overflowed the next range's offset
    /// (offset + length) in MediaPlaylist.parse.
    func testMediaPlaylistByteRangeOverflowIsRejected() throws {
        // "#EXTM3U\n#EXT-X-BYTERANGE:9223372036854775807@1\n"
        let bytes = try XCTUnwrap(Data(base64Encoded: "I0VYVE0zVQojRVhULVgtQllURVJBTkdFOjkyMjMzNzIwMzY4NTQ3NzU4MDdAMQo="))
        XCTAssertNil(MediaPlaylist.parse(String(decoding: bytes, as: UTF8.self)))
        // A range ending exactly at Int.max is still read.
        let edge = MediaPlaylist.parse("#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:10@9223372036854775797\na.ts\n")
        XCTAssertEqual(edge?.segments.first?.byteRange?.length, 10)
    }

    private let clock = SignalClock(recordingStart: nil)

    /// `signals` target (chat, .xml): an XML declaration naming an encoding the UTF-8 bytes are not valid
    /// in made libxml2 crash (SIGSEGV in xmlSwitchToEncoding, under FoundationXML's XMLParser). The bytes
    /// are UTF-8 (checked on load), so the file is now read as UTF-8.
    func testDanmakuDeclaringAnotherEncodingIsReadAsUTF8() throws {
        // "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n<i><chatserver>chat>\n<d p=\"755.0,1,25,c,123\">上链接</d>\n<d>no p</d>\n"
        let path = try file("crash.danmaku.xml", base64: "PD94bWwgdmVyc2lvbj0iMS4wIiBlbmNvZGluZz0iVVRGLTciPz4KPGk+PGNoYXRzZXJ2ZXI+Y2hhdD4KPGQgcD0iNzU1LjAsMSwyNSxjLDEyMyI+5LiK6ZO+5o6lPC9kPgo8ZD5ubyBwPC9kPgo=")
        let chat = try SignalReader.chat(path: path, clock: clock)
        XCTAssertEqual(chat.items, [ChatMessage(time: 755, user: "", text: "上链接")])
        XCTAssertFalse(chat.badLines.isEmpty)  // the <d> without p, and the file ending inside <i>

        // Found next: libxml2 switches encoding even when the declaration is never closed with "?>".
        // "<?xml version=\"1.0\" encoding=\"UTF-7\"?abc,123\"=\">业链>\n<i><chatserver>…"
        let unclosed = try file("unclosed.xml", base64: "PD94bWwgdmVyc2lvbj0iMS4wIiBlbmNvZGluZz0iVVRGLTciP2FiYywxMjMiPSI+5Lia6ZO+Pgo8aT48Y2hhdHNlcnZlcj5jaGF0LmVvYW1wbENvbGxlY3RpaGF0c2VydmVyPgo8ZCBwPSI3NTQuNCwxLDI1LDE2Nzc3MjE1LDEyMDAwMDAwMDAsMCxhYmMsMTIzIj0iPuS4iumTvuaOpTwvZD4KPGQgcD0iNzU1MTI0Ij50ZXh0IDwhW0NEQVRBWzxiPl1dPiAmYW1wO0RvZXh0IDwhW0NEQTBBW3VibGUvZD4KPGQ+bm8gcDwvZD4KPC9pPgo=")
        XCTAssertNotNil(expectError(SignalFileError.self) { try SignalReader.chat(path: unclosed, clock: clock) })
        let noVersion = try file("noversion.xml", base64: Data("<?xml encoding=\"UTF-7\"\n<i><d p=\"1\">上</d></i>\n".utf8).base64EncodedString())
        XCTAssertNotNil(expectError(SignalFileError.self) { try SignalReader.chat(path: noVersion, clock: clock) })

        // The everyday form of it: a Chinese export re-saved as UTF-8 that still says GBK.
        let gbk = try file("gbk.xml", base64: Data("""
            <?xml version="1.0" encoding='GBK' ?>
            <i><d p="1.5,1,25,16777215,1700000000,0,u1,1">上链接</d></i>
            """.utf8).base64EncodedString())
        XCTAssertEqual(try SignalReader.chat(path: gbk, clock: clock).items, [ChatMessage(time: 1.5, user: "u1", text: "上链接")])
    }

    /// `signals` target (chat, .xml): a processing instruction without data (`<?vlmex?>`) made
    /// FoundationXML call strlen(NULL). It is now skipped; this file is then not XML and is refused.
    func testDanmakuProcessingInstructionWithoutDataIsNotACrash() throws {
        // "<?vlmex?>8E\n\"<r>chat.eoample.i>\n"
        let path = try file("pi.xml", base64: "PD92bG1leD8+OEUKIjxyPmNoYXQuZW9hbXBsZS5pPgo=")
        let error = try XCTUnwrap(expectError(SignalFileError.self) { try SignalReader.chat(path: path, clock: clock) })
        XCTAssertTrue(error.detail.contains("not well-formed XML"), error.description)

        let inside = try file("pi-inside.xml", base64: Data("<i><?x?><d p=\"2,1\">hi</d><!-- <?y?> --></i>".utf8).base64EncodedString())
        XCTAssertEqual(try SignalReader.chat(path: inside, clock: clock).items.map(\.text), ["hi"])
    }

    /// `signals` target (chat, .xml): NUL bytes before the first "<" (`00 00 00 3C`) made libxml2 take the
    /// file for UCS-4 and crash (SIGSEGV in xmlParseChunk). The text now ends at the first NUL.
    func testDanmakuStartingWithNULBytesIsRefusedAndNULPaddingEndsTheText() throws {
        // "\0\0\0<d p=\"\t"
        let path = try file("nul.xml", base64: "AAAAPGQgcD0iCQ==")
        XCTAssertNotNil(expectError(SignalFileError.self) { try SignalReader.chat(path: path, clock: clock) })
        // A recording cut short with NUL padding keeps what came before.
        let padded = try file("padded.xml", base64: Data("<i><d p=\"1\">a</d>\0\0\0\0<d p=\"2\">b</d></i>".utf8).base64EncodedString())
        let chat = try SignalReader.chat(path: padded, clock: clock)
        XCTAssertEqual(chat.items.map(\.text), ["a"])
        XCTAssertEqual(chat.badLines.count, 1)
    }

    /// The same instruction brought back by an entity of an internal DTD subset crashed too; a danmaku
    /// file with declarations is refused as a whole.
    func testDanmakuWithAnInternalDTDSubsetIsRefused() throws {
        let path = try file("entity.xml", base64: Data("""
            <!DOCTYPE i [<!ENTITY e "&#60;?x?&#62;">]>
            <i>&e;<d p="1,1">hi</d></i>
            """.utf8).base64EncodedString())
        let error = try XCTUnwrap(expectError(SignalFileError.self) { try SignalReader.chat(path: path, clock: clock) })
        XCTAssertTrue(error.detail.contains("DOCTYPE"), error.description)
    }
}
