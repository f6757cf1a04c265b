import Foundation
import XCTest

/// Recordings shaped the way live ingests leave them, made by the tests from one barcode
/// recording (`base`: 20 s, 30 fps, a beep every second): two encodes of it joined byte-wise
/// give a TS reset or an FLV reconnect; bytes cut off a TS's head give a mid-GOP start.
/// Barcode index `i` is source frame `i` of `base`, so `base`'s witness tells which frames and
/// which A/V offsets any cut must have.
enum LiveRecording: String, CaseIterable, Sendable {
    /// MPEG-TS, two encodes joined: PTS jump back at 10 s; the second part has no B-frames and another bitrate.
    case tsReset
    /// FLV, an RTMP reconnect at 10 s: timestamps restart at 0 with new AVC and AAC sequence
    /// headers (no B-frames, another bitrate, 44.1 kHz stereo audio after it).
    case flvReconnect
    /// MPEG-TS whose first 37 % of bytes are gone: it begins mid-GOP.
    case midGOP
    /// MPEG-TS, two encodes joined at 10 s, the second at 240x180.
    case sizeChange
    /// MPEG-TS with no audio packets from 4.4 s to 5.6 s (a muted mic).
    case audioHole
    /// MPEG-TS whose audio starts 1.6 s after its video (a mic switched on late).
    case audioLate
    /// MPEG-TS whose every picture is four slices behind an AUD and twelve SEI units (captions,
    /// timecode): keyframes must be found by their slices, however many units come first.
    case manySEI

    static let base = FixtureSpec(seconds: 20, gop: 30)
    static let fps = 30.0

    struct Made: Sendable {
        let url: URL
        /// Barcode index of the recording's first decodable frame (`f0`).
        let firstFrame: Int
        /// Barcode indices the recording holds, in order.
        let frames: Range<Int>
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: [LiveRecording: Made] = [:]

    func make() throws -> Made {
        LiveRecording.lock.lock()
        defer { LiveRecording.lock.unlock() }
        if let m = LiveRecording.made[self] { return m }
        let m = try build()
        LiveRecording.made[self] = m
        return m
    }

    private func encode(_ base: URL, from: Double, seconds: Double, _ options: [String], to out: URL) throws {
        var args = ["-hide_banner", "-v", "error", "-y"]
        if from > 0 { args += ["-ss", "\(from)"] }
        args += ["-i", base.path, "-t", "\(seconds)", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
                 "-c:a", "aac"] + options + [out.path]
        try Subprocess.checked("ffmpeg", args)
    }

    private func build() throws -> Made {
        let base = try Fixtures.get(LiveRecording.base).url
        let work = ScratchSpace.makeFolder("live-\(rawValue)")
        let fm = FileManager.default
        func join(_ a: URL, _ b: URL, skipping: Int, to out: URL) throws {
            var data = try Data(contentsOf: a)
            data.append(try Data(contentsOf: b).dropFirst(skipping))
            try data.write(to: out)
        }
        let a = work.appendingPathComponent("a"), b = work.appendingPathComponent("b")
        let out = ScratchSpace.fixtures.appendingPathComponent("live-\(rawValue)")
        switch self {
        case .tsReset:
            try encode(base, from: 0, seconds: 10, ["-bf", "3", "-b:v", "600k"], to: a.appendingPathExtension("ts"))
            try encode(base, from: 10, seconds: 10, ["-bf", "0", "-b:v", "300k"], to: b.appendingPathExtension("ts"))
            let url = out.appendingPathExtension("ts")
            try join(a.appendingPathExtension("ts"), b.appendingPathExtension("ts"), skipping: 0, to: url)
            return Made(url: url, firstFrame: 0, frames: 0..<600)
        case .flvReconnect:
            try encode(base, from: 0, seconds: 10, ["-bf", "3", "-b:v", "600k", "-ar", "48000"], to: a.appendingPathExtension("flv"))
            try encode(base, from: 10, seconds: 10, ["-bf", "0", "-b:v", "300k", "-ar", "44100", "-ac", "2"],
                       to: b.appendingPathExtension("flv"))
            let url = out.appendingPathExtension("flv")
            // The second file's 9-byte header and first PreviousTagSize go: its tags follow the first's.
            try join(a.appendingPathExtension("flv"), b.appendingPathExtension("flv"), skipping: 13, to: url)
            return Made(url: url, firstFrame: 0, frames: 0..<600)
        case .sizeChange:
            try encode(base, from: 0, seconds: 10, ["-bf", "3"], to: a.appendingPathExtension("ts"))
            try encode(base, from: 10, seconds: 10, ["-bf", "3", "-vf", "scale=240:180"], to: b.appendingPathExtension("ts"))
            let url = out.appendingPathExtension("ts")
            try join(a.appendingPathExtension("ts"), b.appendingPathExtension("ts"), skipping: 0, to: url)
            return Made(url: url, firstFrame: 0, frames: 0..<600)
        case .audioHole:
            let url = out.appendingPathExtension("ts")
            try encode(base, from: 0, seconds: 10, ["-bf", "3", "-af", "aselect='not(between(t,4.4,5.6))'"], to: url)
            return Made(url: url, firstFrame: 0, frames: 0..<300)
        case .audioLate:
            let url = out.appendingPathExtension("ts")
            try encode(base, from: 0, seconds: 10, ["-bf", "3", "-af", "aselect='gte(t,1.6)'"], to: url)
            return Made(url: url, firstFrame: 0, frames: 0..<300)
        case .manySEI:
            let es = work.appendingPathComponent("es.h264")
            try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-i", base.path, "-t", "10", "-an",
                                              "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "0",
                                              "-x264-params", "slices=4:aud=1", "-f", "h264", es.path])
            let padded = work.appendingPathComponent("padded.h264")
            try LiveRecording.insertingSEI(12, into: Data(contentsOf: es)).write(to: padded)
            let url = out.appendingPathExtension("ts")
            try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-f", "h264", "-framerate", "30", "-i", padded.path,
                                              "-i", base.path, "-t", "10", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                                              "-c:a", "aac", url.path])
            return Made(url: url, firstFrame: 0, frames: 0..<300)
        case .midGOP:
            let whole = a.appendingPathExtension("ts")
            try encode(base, from: 0, seconds: 10, ["-bf", "3"], to: whole)
            let data = try Data(contentsOf: whole)
            let cut = (data.count / 188) * 37 / 100 * 188
            let url = out.appendingPathExtension("ts")
            try data.dropFirst(cut).write(to: url)
            // The first keyframe left, as the outside witness sees it, gives the first decodable frame.
            let first = try LiveRecording.videoPTS(of: whole).first!
            let key = try LiveRecording.keyframePTS(of: url).first!
            let firstFrame = Int(((key - first) * LiveRecording.fps).rounded())
            try? fm.removeItem(at: work)
            return Made(url: url, firstFrame: firstFrame, frames: firstFrame..<300)
        }
    }

    /// The Annex B stream with `count` SEI units (user data, unregistered) after every AUD.
    static func insertingSEI(_ count: Int, into es: Data) -> Data {
        let bytes = [UInt8](es)
        var starts: [(code: Int, nal: Int)] = []
        var i = 0
        while i + 3 <= bytes.count {
            if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                starts.append((i > 0 && bytes[i - 1] == 0 ? i - 1 : i, i + 3))
                i += 3
            } else { i += 1 }
        }
        var out: [UInt8] = []
        for (k, s) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1].code : bytes.count
            out += [0, 0, 0, 1] + bytes[s.nal..<end]
            if bytes[s.nal] & 0x1F == 9 {
                for n in 0..<count {
                    // payload type 5, size 20: a UUID of 0x11s, then "cc" and two bytes.
                    out += [0, 0, 0, 1, 0x06, 0x05, 20] + [UInt8](repeating: 0x11, count: 16)
                        + [0x63, 0x63, UInt8(0x30 + n % 10), 0x21, 0x80]
                }
            }
        }
        return Data(out)
    }

    static func videoPTS(of url: URL) throws -> [Double] {
        try FFprobe.packets(url).compactMap(\.ptsSeconds)
    }

    static func keyframePTS(of url: URL) throws -> [Double] {
        try FFprobe.packets(url).filter(\.isKeyframe).compactMap(\.ptsSeconds)
    }
}

/// What an outside witness reads back from an output made from a `LiveRecording`.
struct LiveOutput {
    let url: URL
    let video: VideoReadback
    let audio: AudioReadback?
    let packets: PacketWitness
    let decodeErrors: String

    init(_ url: URL) throws {
        self.url = url
        video = try VideoReadback.read(url)
        audio = try? AudioReadback.read(url)
        packets = try PacketWitness.read(url)
        decodeErrors = try DecodeCheck.errors(url)
    }

    /// Exact frames (barcode read-back), a regular 1/30 s frame grid from 0, `ffmpeg -v error`
    /// silent, DTS strictly increasing with no near-zero frame durations (a join squeezed to a
    /// tick), and A/V within 1.5 ms of the source at every beep (`silent`: seconds whose beep
    /// the recording itself lacks).
    func assertExact(_ expected: [Int], silent: Set<Int> = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let indices = video.indices
        XCTAssertFalse(indices.contains(nil), "\(indices.filter { $0 == nil }.count) unreadable frames", file: file, line: line)
        let got = indices.compactMap { $0 }
        XCTAssertEqual(got.count, expected.count, "frame count", file: file, line: line)
        if got != expected {
            XCTFail("frames differ: \(CutOutcome.describeDifference(got, expected))", file: file, line: line)
        }
        XCTAssertEqual(decodeErrors, "", "ffmpeg -v error is not silent", file: file, line: line)
        let frame = 1 / LiveRecording.fps
        if url.pathExtension == "mp4" {
            XCTAssertEqual(try XCTUnwrap(video.frames.first).time, 0, accuracy: 0.001, "video starts at 0", file: file, line: line)
        }
        var reported = 0
        for (x, y) in zip(video.frames, video.frames.dropFirst()) where abs(y.time - x.time - frame) > 0.001 && reported < 5 {
            reported += 1
            XCTFail("frame \(x.index ?? -1) is shown for \(y.time - x.time) s, not \(frame) s", file: file, line: line)
        }
        XCTAssertEqual(packets.dtsViolations(), [], "DTS not strictly increasing", file: file, line: line)
        let dts = packets.packets.compactMap(\.dtsSeconds)
        let squeezed = zip(dts, dts.dropFirst()).filter { $1 - $0 < frame / 2 }
        XCTAssertEqual(squeezed.count, 0, "packets whose DTS follow the previous by less than half a frame: \(squeezed.prefix(4))",
                       file: file, line: line)

        let source = try SourceWitness.of(LiveRecording.base)
        let audio = try XCTUnwrap(audio, "output has no audio", file: file, line: line)
        let sync = AVSync.measure(video: video, audio: audio, source: source)
        XCTAssertTrue(Set(sync.missing).isSubset(of: silent), "beeps missing from the output: \(sync.missing)", file: file, line: line)
        // Beeps whose second opens inside the output (not on its very first frame, which the
        // detector can't hear) and lasts a few frames there.
        let inside = Set(expected.filter { $0 % 30 == 0 && $0 != expected.first && expected.contains($0 + 2) }.map { $0 / 30 })
            .subtracting(silent)
        XCTAssertFalse(inside.isEmpty, "the range holds no beep: it cannot check sync", file: file, line: line)
        for second in inside.sorted() {
            guard let offset = sync.offsets[second] else {
                XCTFail("beep at source second \(second) not measured", file: file, line: line); continue
            }
            let reference = try XCTUnwrap(source.avOffsets[second], file: file, line: line)
            XCTAssertEqual(offset * 1000, reference * 1000, accuracy: 1.5, "A/V offset (ms) at source second \(second)", file: file, line: line)
        }
    }
}
