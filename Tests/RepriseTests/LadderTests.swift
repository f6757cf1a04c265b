import Foundation
import XCTest
@testable import RepriseHLS
@testable import RepriseProfiles

/// `reprise ladder` as a black box: every playlist parsed and held to RFC 8216's rules, every
/// segment opened by ffprobe and its first picture's NAL units read (an IDR), keyframe times
/// compared across rungs, declared bandwidths against sizes measured here, and each rung's
/// frames read back through the `.bands` code.
final class LadderTests: XCTestCase {
    struct Ladder {
        let folder: URL
        let run: Reprise.Run
        var result: JSONValue? { run.summary() }
        var master: URL { folder.appendingPathComponent("master.m3u8") }
    }

    func makeLadder(_ spec: FixtureSpec, extra: [String], name: String = "replay") throws -> Ladder {
        let fixture = try Fixtures.get(spec)
        let folder = ScratchSpace.makeFolder("ladder").appendingPathComponent(name, isDirectory: true)
        let run = try Reprise.run(["ladder", fixture.url.path, "-o", folder.path, "--json"] + extra, timeout: 600)
        return Ladder(folder: folder, run: run)
    }

    /// ladder-default on a 640x360, 6-s recording in 2-s segments: the rungs above 360p are skipped;
    /// 360p and 234p hold every source frame; playlists follow the RFC; segments start with IDRs at
    /// 0, 2, 4 s in both rungs; the master's bandwidths are the measured peaks; I-frame playlists
    /// point at decodable keyframes. Every rung encoded (`--reuse never`; the copied top rung
    /// keeps the source's own extra keyframes, see LadderReuseTests).
    func testDefaultLadderIsAlignedMeasuredAndFrameExact() throws {
        let spec = FixtureSpec.bands169
        let ladder = try makeLadder(spec, extra: ["--segment", "2", "--reuse", "never"])
        XCTAssertEqual(ladder.run.status, 0, ladder.run.transcript)
        guard ladder.run.status == 0 else { return }
        XCTAssertEqual(ladder.result?["skipped"]?.array?.count, 3, "1080p, 720p, 540p are bigger than the source")
        let variants = try checkMaster(ladder, expectedSizes: [[640, 360], [416, 234]])
        try checkRungs(ladder, variants: variants, spec: spec, frames: Array(0..<spec.frameCount), segmentSeconds: 2,
                       keyframeTimes: [0, 2, 4], segmentFormat: "fmp4")
        // Nothing left beside it.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: ladder.folder.deletingLastPathComponent().path)
        XCTAssertEqual(siblings, ["replay"], "work folders left beside the ladder")
    }

    /// MPEG-TS segments and a frame-exact range (f30..<f150): the same promises.
    func testTSLadderOfARange() throws {
        let spec = FixtureSpec.bands169
        let ladder = try makeLadder(spec, extra: ["--format", "ts", "--segment", "2", "--from", "f30", "--to", "f150"])
        XCTAssertEqual(ladder.run.status, 0, ladder.run.transcript)
        guard ladder.run.status == 0 else { return }
        let variants = try checkMaster(ladder, expectedSizes: [[640, 360], [416, 234]])
        try checkRungs(ladder, variants: variants, spec: spec, frames: Array(30..<150), segmentSeconds: 2,
                       keyframeTimes: [0, 2], segmentFormat: "ts")
    }

    /// A second run over an existing ladder replaces it whole; a run killed with SIGKILL mid-way
    /// leaves the old ladder untouched (the new one is built under a hidden name).
    func testKilledRunLeavesThePublishedLadderWhole() throws {
        let spec = FixtureSpec.bands169
        let first = try makeLadder(spec, extra: ["--segment", "2"], name: "kept")
        XCTAssertEqual(first.run.status, 0, first.run.transcript)
        let before = FileSnapshot.listing(first.folder)
        let masterBefore = try String(contentsOf: first.master, encoding: .utf8)

        let process = Process()
        process.executableURL = Reprise.binary
        process.arguments = ["ladder", try Fixtures.get(.bandsNoisy).url.path, "-o", first.folder.path, "--segment", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let parent = first.folder.deletingLastPathComponent()
        var sawWork = false
        pollUntil(timeout: 20, every: 0.02) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
            sawWork = names.contains { $0.hasPrefix(".kept.partial-") }
            return sawWork || !process.isRunning
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(sawWork, "the run never started its hidden work folder")
        XCTAssertEqual(FileSnapshot.listing(first.folder), before, "the published ladder changed")
        XCTAssertEqual(try String(contentsOf: first.master, encoding: .utf8), masterBefore)

        // The next run clears the dead run's work folder and replaces the ladder.
        let again = try Reprise.run(["ladder", try Fixtures.get(.bands43).url.path, "-o", first.folder.path, "--segment", "2", "--json"])
        XCTAssertEqual(again.status, 0, again.transcript)
        let names = try FileManager.default.contentsOfDirectory(atPath: parent.path)
        XCTAssertEqual(names, ["kept"], "left beside the ladder: \(names)")
        XCTAssertTrue(try String(contentsOf: first.master, encoding: .utf8).contains("RESOLUTION=480x360"), "not replaced (the 4:3 source fitted in the 360p box)")
    }

    /// Ladder files are validated like profiles: a rung whose max rate is over twice its average
    /// is an error naming the file, the line and the field.
    func testBadLadderFileNamesFileLineAndField() throws {
        let folder = ScratchSpace.makeFolder("ladders")
        let path = folder.appendingPathComponent("ladder-greedy.yaml").path
        try "name: greedy\nrungs:\n  - width: 640\n    height: 360\n    bitrate: 500k\n    max_bitrate: 1500k\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LadderLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path):6: rungs[0].max_bitrate: "), "\(error)")
        }
        let run = try Reprise.run(["ladder", try Fixtures.get(.bands169).url.path, "-o", folder.appendingPathComponent("out").path,
                                   "--ladder", "greedy", "--profile-dir", folder.path])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderrLines.count, 1, run.transcript)
        XCTAssertTrue(run.output.stderrText.contains("\(path):6"), run.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))
        // The shipped ladders keep every rung's peak within twice its average.
        let shipped = try LadderLibrary(folders: [ProfileFolder.shipped.path])
        XCTAssertEqual(Set(shipped.ladders.keys), ["ladder-default", "ladder-overseas", "ladder-overseas-hevc"])
        for l in shipped.ladders.values {
            for r in l.rungs { XCTAssertLessThanOrEqual(r.video.maxBitrate ?? .max, 2 * (r.video.bitrate ?? 0), "\(l.name) \(r.name)") }
        }
        XCTAssertLessThanOrEqual(shipped.ladder(named: "overseas")?.rungs.map(\.video.height).max() ?? 9999, 540)
    }

    // MARK: checks

    struct Variant { var attributes: [String: String]; var uri: String }

    /// Master playlist: tags, the audio group, one variant per expected size with every attribute.
    func checkMaster(_ ladder: Ladder, expectedSizes: [[Int]], file: StaticString = #filePath, line: UInt = #line) throws -> [Variant] {
        let text = try String(contentsOf: ladder.master, encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        XCTAssertEqual(lines.first, "#EXTM3U", file: file, line: line)
        XCTAssertTrue(lines.contains("#EXT-X-INDEPENDENT-SEGMENTS"), file: file, line: line)
        let media = lines.filter { $0.hasPrefix("#EXT-X-MEDIA:") }.map { AttributeList.parse(String($0.dropFirst("#EXT-X-MEDIA:".count))) }
        XCTAssertEqual(media.count, 1, "one audio rendition", file: file, line: line)
        XCTAssertEqual(media.first?["TYPE"], "AUDIO", file: file, line: line)
        var variants: [Variant] = []
        for (n, l) in lines.enumerated() where l.hasPrefix("#EXT-X-STREAM-INF:") && n + 1 < lines.count {
            variants.append(Variant(attributes: AttributeList.parse(String(l.dropFirst("#EXT-X-STREAM-INF:".count))), uri: lines[n + 1]))
        }
        let sizes = variants.map { v in (v.attributes["RESOLUTION"] ?? "").split(separator: "x").compactMap { Int($0) } }
        XCTAssertEqual(sizes, expectedSizes, "variants (highest first)", file: file, line: line)
        for v in variants {
            for key in ["BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE", "AUDIO"] {
                XCTAssertNotNil(v.attributes[key], "\(v.uri): \(key) missing", file: file, line: line)
            }
            XCTAssertEqual(v.attributes["AUDIO"], media.first?["GROUP-ID"], file: file, line: line)
            XCTAssertEqual(Double(v.attributes["FRAME-RATE"] ?? "") ?? 0, 30, accuracy: 0.001, file: file, line: line)
        }
        let iframes = lines.filter { $0.hasPrefix("#EXT-X-I-FRAME-STREAM-INF:") }
        XCTAssertEqual(iframes.count, variants.count, "an I-frame playlist per rung", file: file, line: line)
        // ffprobe opens the master (video and audio through it).
        let probe = try FFprobe.describe(ladder.master)
        XCTAssertTrue(probe.streams?.contains { $0.codec_type == "video" } ?? false, "ffprobe sees no video in the master", file: file, line: line)
        XCTAssertTrue(probe.streams?.contains { $0.codec_type == "audio" } ?? false, "ffprobe sees no audio in the master", file: file, line: line)
        return variants
    }

    /// One media playlist against RFC 8216: header tags, EXTINF ≤ TARGETDURATION after rounding,
    /// VOD, ENDLIST, every URI present.
    func checkMediaPlaylist(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> MediaPlaylist {
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let p = MediaPlaylist.parse(text) else {
            XCTFail("\(url.path) is not a playlist:\n\(text)", file: file, line: line)
            return MediaPlaylist()
        }
        let what = url.pathComponents.suffix(2).joined(separator: "/")
        XCTAssertTrue(text.contains("#EXT-X-TARGETDURATION:"), "\(what): no TARGETDURATION", file: file, line: line)
        XCTAssertEqual(p.mediaSequence, 0, "\(what): media sequence", file: file, line: line)
        XCTAssertEqual(p.playlistType, "VOD", "\(what): playlist type", file: file, line: line)
        XCTAssertTrue(p.endList, "\(what): no ENDLIST", file: file, line: line)
        XCTAssertFalse(p.segments.isEmpty, "\(what): no segments", file: file, line: line)
        for s in p.segments {
            XCTAssertLessThanOrEqual(Int(s.duration.rounded()), p.targetDuration, "\(what): EXTINF \(s.duration) > TARGETDURATION",
                                     file: file, line: line)
            let target = url.deletingLastPathComponent().appendingPathComponent(s.uri)
            XCTAssertTrue(FileManager.default.fileExists(atPath: target.path), "\(what): \(s.uri) missing", file: file, line: line)
            if let r = s.byteRange, let size = try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int {
                XCTAssertLessThanOrEqual(r.offset + r.length, size, "\(what): byte range past the end of \(s.uri)", file: file, line: line)
            }
        }
        if let map = p.mapURI {
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.deletingLastPathComponent().appendingPathComponent(map).path),
                          "\(what): EXT-X-MAP \(map) missing", file: file, line: line)
        }
        return p
    }

    func fileSize(_ url: URL) -> Int { ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.intValue ?? 0 }

    /// Peak bits/s of a playlist's segments, measured here from the files and EXTINF.
    func peakRate(_ p: MediaPlaylist, folder: URL) -> Double {
        p.segments.map { Double(fileSize(folder.appendingPathComponent($0.uri))) * 8 / $0.duration }.max() ?? 0
    }

    /// The bytes of a segment as a file ffprobe can open alone (fMP4: init + segment).
    func standalone(_ segment: URL, map: String?, range: (length: Int, offset: Int)? = nil) throws -> URL {
        var data = Data()
        if let map { data += try Data(contentsOf: segment.deletingLastPathComponent().appendingPathComponent(map)) }
        var body = try Data(contentsOf: segment)
        if let range { body = body.subdata(in: range.offset..<(range.offset + range.length)) }
        data += body
        let out = ScratchSpace.makeFolder("segment").appendingPathComponent(map == nil ? "s.ts" : "s.mp4")
        try data.write(to: out)
        return out
    }

    func checkRungs(_ ladder: Ladder, variants: [Variant], spec: FixtureSpec, frames expected: [Int], segmentSeconds: Double,
                    keyframeTimes: [Double], segmentFormat: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let audioURI = try String(contentsOf: ladder.master, encoding: .utf8).split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("#EXT-X-MEDIA:") }.map { AttributeList.parse(String($0.dropFirst("#EXT-X-MEDIA:".count)))["URI"] ?? "" } ?? ""
        let audioURL = ladder.folder.appendingPathComponent(audioURI)
        let audio = try checkMediaPlaylist(audioURL, file: file, line: line)
        let audioPeak = peakRate(audio, folder: audioURL.deletingLastPathComponent())
        var keyTimesByRung: [[Double]] = []
        for v in variants {
            let url = ladder.folder.appendingPathComponent(v.uri)
            let folder = url.deletingLastPathComponent()
            let what = v.uri
            let p = try checkMediaPlaylist(url, file: file, line: line)
            XCTAssertEqual(p.targetDuration, Int(segmentSeconds.rounded()), "\(what): target duration", file: file, line: line)
            XCTAssertEqual(p.segments.count, Int((Double(expected.count) / Double(spec.fps) / segmentSeconds).rounded(.up)),
                           "\(what): segments", file: file, line: line)
            if segmentFormat == "fmp4" { XCTAssertNotNil(p.mapURI, "\(what): fMP4 without EXT-X-MAP", file: file, line: line) }

            // Bandwidth: the measured peak (video + audio), declared at least that and within 10 %.
            let measured = peakRate(p, folder: folder) + audioPeak
            let declared = Double(v.attributes["BANDWIDTH"] ?? "") ?? 0
            XCTAssertGreaterThanOrEqual(declared, measured.rounded(.down), "\(what): BANDWIDTH under the measured peak", file: file, line: line)
            XCTAssertLessThanOrEqual(declared, 1.1 * measured, "\(what): BANDWIDTH over the measured peak + 10 %", file: file, line: line)

            // CODECS: the video part names the profile and level ffprobe reads from the stream.
            let probe = try FFprobe.describe(url)
            let video = probe.streams?.first { $0.codec_type == "video" }
            let codecs = (v.attributes["CODECS"] ?? "").split(separator: ",").map(String.init)
            XCTAssertEqual(codecs.count, 2, "\(what): CODECS \(codecs)", file: file, line: line)
            XCTAssertEqual(codecs.last, "mp4a.40.2", file: file, line: line)
            if let avc = codecs.first, avc.hasPrefix("avc1."), avc.count == 11 {
                let profileIDC = Int(avc.dropFirst(5).prefix(2), radix: 16)
                let levelIDC = Int(avc.suffix(2), radix: 16)
                XCTAssertEqual(profileIDC, ["High": 100, "Main": 77, "Constrained Baseline": 66, "Baseline": 66][video?.profile ?? ""],
                               "\(what): CODECS \(avc) vs ffprobe profile \(video?.profile ?? "-")", file: file, line: line)
                XCTAssertEqual(levelIDC, video?.level, "\(what): CODECS level vs ffprobe", file: file, line: line)
            } else {
                XCTFail("\(what): video codec string \(codecs.first ?? "-") is not avc1.PPCCLL", file: file, line: line)
            }
            XCTAssertEqual([video?.width ?? 0, video?.height ?? 0],
                           (v.attributes["RESOLUTION"] ?? "").split(separator: "x").compactMap { Int($0) }, file: file, line: line)

            // Every segment opens with an IDR (its first packet's NAL units, read here).
            for s in p.segments {
                let alone = try standalone(folder.appendingPathComponent(s.uri), map: p.mapURI)
                let first = try FFprobe.packets(alone, stream: "v:0", data: true).first
                let units = NALUnits.split(FFprobe.bytes(fromHexDump: first?.data ?? ""),
                                           segmentFormat == "ts" ? .annexB : .lengthPrefixed)
                XCTAssertTrue(units.contains { NALUnits.Codec.h264.type(of: $0) == 5 }, "\(what)/\(s.uri) does not start with an IDR",
                              file: file, line: line)
            }
            // Keyframes: all IDR, on the same grid in every rung.
            let packets = try FFprobe.packets(url, stream: "v:0")
            let start = packets.compactMap { $0.ptsSeconds }.min() ?? 0
            keyTimesByRung.append(packets.filter(\.isKeyframe).compactMap(\.ptsSeconds).map { (($0 - start) * 1000).rounded() / 1000 }.sorted())

            // I-frame playlist: byte ranges inside the segments, each a decodable keyframe.
            let iframeURL = folder.appendingPathComponent("iframes.m3u8")
            let iframes = try checkMediaPlaylist(iframeURL, file: file, line: line)
            XCTAssertTrue(iframes.iFramesOnly, "\(what): I-frame playlist without I-FRAMES-ONLY", file: file, line: line)
            if let first = iframes.segments.first, let range = first.byteRange {
                let alone = try standalone(folder.appendingPathComponent(first.uri), map: iframes.mapURI, range: range)
                let decoded = try FFprobe.frames(alone, stream: "v:0")
                XCTAssertEqual(decoded.first?.key_frame, 1, "\(what): I-frame range does not decode to a keyframe", file: file, line: line)
            }

            // The rung's frames are exactly the range's source frames.
            guard let w = video?.width, let h = video?.height else { continue }
            let gray = try GrayFrames.decode(url, size: (w, h))
            let content = Placement.content(source: spec.displaySize, output: (w, h), fit: .pad)
            let indices = (0..<gray.count).map { spec.bandsCode.read(gray[$0], content: content) }
            XCTAssertEqual(indices, expected.map(Optional.some), "\(what): frames \(TranscodeTests.summary(indices))", file: file, line: line)
        }
        XCTAssertEqual(keyTimesByRung.first, keyframeTimes, "keyframe times", file: file, line: line)
        XCTAssertTrue(keyTimesByRung.allSatisfy { $0 == keyTimesByRung.first }, "keyframes differ between rungs: \(keyTimesByRung)",
                      file: file, line: line)
    }
}
