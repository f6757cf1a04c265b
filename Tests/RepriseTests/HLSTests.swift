import XCTest
@testable import RepriseHLS
@testable import RepriseProfiles
@testable import RepriseTranscode

/// The HLS pieces that need no media: playlists, attribute lists, codec strings, keyframe ranges,
/// rung selection.
final class HLSTests: XCTestCase {
    func testMediaPlaylistRoundTripsAndFollowsTheTargetDurationRule() {
        var p = MediaPlaylist()
        p.version = 7
        p.playlistType = "VOD"
        p.independentSegments = true
        p.mapURI = "init.mp4"
        p.segments = [.init(duration: 6.0, uri: "seg_00000.m4s"), .init(duration: 6.4, uri: "seg_00001.m4s"),
                      .init(duration: 1.5, uri: "seg_00002.m4s", byteRange: (1200, 300))]
        p.targetDuration = MediaPlaylist.targetDuration(for: p.segments.map(\.duration))
        p.endList = true
        XCTAssertEqual(p.targetDuration, 6, "6.4 rounds to 6 (RFC 8216 4.3.3.1)")
        let text = p.render()
        XCTAssertTrue(text.contains("#EXT-X-BYTERANGE:1200@300\nseg_00002.m4s"), text)
        XCTAssertEqual(MediaPlaylist.parse(text), p)
        XCTAssertEqual(MediaPlaylist.targetDuration(for: [6.5, 2]), 7)
        XCTAssertNil(MediaPlaylist.parse("not a playlist"))
        // A byte range without an offset continues from the previous one.
        let implicit = MediaPlaylist.parse("#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@0\na.ts\n#EXTINF:1,\n#EXT-X-BYTERANGE:50\na.ts\n")
        XCTAssertEqual(implicit?.segments.last?.byteRange?.offset, 100)
    }

    func testAttributeListsKeepQuotedCommas() {
        let a = AttributeList.parse(#"BANDWIDTH=1200,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720"#)
        XCTAssertEqual(a["BANDWIDTH"], "1200")
        XCTAssertEqual(a["CODECS"], "avc1.64001F,mp4a.40.2")
        XCTAssertEqual(a["RESOLUTION"], "1280x720")
    }

    func testCodecStringsFromParameterSets() {
        // H.264 SPS: High (100), constraints 0, level 3.1 (31).
        XCTAssertEqual(CodecString.avc(sps: [0x67, 0x64, 0x00, 0x1F, 0xAC]), "avc1.64001F")
        XCTAssertEqual(CodecString.avc(sps: [0x67, 0x4D, 0x40, 0x1E]), "avc1.4D401E")
        // HEVC SPS (x265, Main, level 3): NAL header 42 01, then vps id/sub-layers/nesting 01,
        // profile space 0 tier 0 profile 1, compatibility 0x60000000, constraints 90 00…, level 90.
        let sps: [UInt8] = [0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5A, 0xA0]
        XCTAssertEqual(CodecString.hevc(sps: sps), "hvc1.1.6.L90.90")
        XCTAssertEqual(CodecString.audio(codec: "aac"), "mp4a.40.2")
        XCTAssertEqual(CodecString.audio(codec: "opus"), "Opus")
    }

    func testOpeningKeyframeOfAFragmentAndOfATransportSegment() {
        func u32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] { u32(8 + body.count) + Array(type.utf8) + body }
        // styp, then moof(mfhd, traf(tfhd default-base-is-moof, trun data-offset + sizes 500, 40)), mdat.
        let tfhd = box("tfhd", u32(0x020000) + u32(1))
        let trun = box("trun", u32(0x000201) + u32(2) + u32(0) + u32(500) + u32(40))
        var moof = box("moof", box("mfhd", u32(0) + u32(1)) + box("traf", tfhd + trun))
        let offset = moof.count + 8
        // Patch trun's data offset (relative to the moof's start) to point into mdat.
        let trunAt = moof.count - trun.count
        moof.replaceSubrange((trunAt + 16)..<(trunAt + 20), with: u32(offset))
        let styp = box("styp", Array("msdh".utf8) + u32(0))
        let segment = styp + moof + box("mdat", [UInt8](repeating: 7, count: 540))
        XCTAssertEqual(SegmentKeyframe.openingLength(of: segment, format: "fmp4"), styp.count + offset + 500)

        // TS: PAT, PMT, video PES start (PID 0x100), 2 continuation packets, next PES start.
        func ts(_ pid: Int, start: Bool) -> [UInt8] {
            [0x47, UInt8((start ? 0x40 : 0) | pid >> 8), UInt8(pid & 0xFF), 0x10] + [UInt8](repeating: 0xFF, count: 184)
        }
        let stream = ts(0, start: true) + ts(0x1000, start: true) + ts(0x100, start: true) + ts(0x100, start: false)
            + ts(0x100, start: false) + ts(0x100, start: true) + ts(0x100, start: false)
        XCTAssertEqual(SegmentKeyframe.openingLength(of: stream, format: "ts"), 5 * 188)
        XCTAssertNil(SegmentKeyframe.openingLength(of: [1, 2, 3], format: "ts"))
    }

    func testRungsAboveTheSourceAreSkippedAndTheRestFitTheSource() throws {
        let ladder = try XCTUnwrap(LadderLibrary(folders: [ProfileFolder.shipped.path]).ladder(named: "default"))
        let hd = LadderEngine.rungSizes(ladder, source: (1280, 720))
        XCTAssertEqual(hd.kept.map { [$0.width, $0.height] }, [[1280, 720], [960, 540], [640, 360], [416, 234]])
        XCTAssertEqual(hd.skipped.count, 1)
        // 4:3 keeps its shape inside each box.
        let fourThree = LadderEngine.rungSizes(ladder, source: (640, 480))
        XCTAssertEqual(fourThree.kept.map { [$0.width, $0.height] }, [[480, 360], [312, 234]])
        // Smaller than every rung: one rung at the source's own size.
        let tiny = LadderEngine.rungSizes(ladder, source: (320, 180))
        XCTAssertEqual(tiny.kept.map { [$0.width, $0.height] }, [[320, 180]])
    }
}
