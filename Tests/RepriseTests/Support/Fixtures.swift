import Foundation

/// A test recording made by `Fixtures`.
struct Fixture: Sendable, CustomStringConvertible {
    var spec: FixtureSpec
    var url: URL
    var description: String { url.lastPathComponent }
}

/// Makes fixture recordings with the ffmpeg program: raw gray frames (the barcode) piped from
/// Swift on stdin, the beep track from a raw PCM file, encoded as the spec says. Each spec is
/// made once per test process and shared by every test that asks for it.
enum Fixtures {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: [FixtureSpec: Fixture] = [:]

    static func get(_ spec: FixtureSpec) throws -> Fixture {
        lock.lock()
        defer { lock.unlock() }
        if let fixture = made[spec] { return fixture }
        let fixture = try make(spec)
        made[spec] = fixture
        return fixture
    }

    private static func make(_ spec: FixtureSpec) throws -> Fixture {
        let fm = FileManager.default
        let url = ScratchSpace.fixtures.appendingPathComponent(spec.description)
        let done = url.appendingPathExtension("done")
        if fm.fileExists(atPath: done.path), fm.fileExists(atPath: url.path) {
            return Fixture(spec: spec, url: url)
        }
        let work = ScratchSpace.makeFolder("make-\(spec.codec.rawValue)")
        defer { try? fm.removeItem(at: work) }

        let audio = work.appendingPathComponent("beeps.s16le")
        let beeps = BeepTrack.pcm(seconds: Double(spec.seconds))
        try (spec.audioBed ? AudioBed.mixed(under: beeps) : beeps).write(to: audio)

        let encoded = work.appendingPathComponent("encoded." + spec.container.fileExtension)
        let barcode = Barcode(width: spec.width, height: spec.height)
        let bands = BandsCode(width: spec.width, height: spec.height, frameCount: spec.frameCount)
        try Subprocess.checked("ffmpeg", encodeArguments(spec, audio: audio, output: encoded)) { stdin in
            for index in 0..<spec.frameCount {
                let frame = spec.layout == .bands ? bands.render(index, noise: spec.noise) : barcode.render(index)
                try stdin.write(contentsOf: frame.withUnsafeBufferPointer { Data(buffer: $0) })
            }
        }
        var result = encoded
        if spec.rotation != 0 {
            // ffmpeg 5.1 writes the display matrix from the `rotate` tag only when stream-copying.
            result = work.appendingPathComponent("rotated." + spec.container.fileExtension)
            try Subprocess.checked("ffmpeg", ["-hide_banner", "-v", "error", "-y", "-i", encoded.path,
                                              "-map", "0", "-c", "copy",
                                              "-metadata:s:v:0", "rotate=\(spec.rotation)", result.path])
        }
        try? fm.removeItem(at: url)
        try fm.moveItem(at: result, to: url)
        _ = fm.createFile(atPath: done.path, contents: Data())
        return Fixture(spec: spec, url: url)
    }

    static func encodeArguments(_ spec: FixtureSpec, audio: URL, output: URL) -> [String] {
        var args = ["-hide_banner", "-v", "error", "-y",
                    "-f", "rawvideo", "-pix_fmt", "gray", "-s", "\(spec.width)x\(spec.height)",
                    "-framerate", "\(spec.fps)", "-i", "pipe:0",
                    "-f", "s16le", "-ar", "\(BeepTrack.sampleRate)", "-ac", "1", "-i", audio.path,
                    "-map", "0:v", "-map", "1:a"]
        if spec.timing == .variable {
            // Give every frame the time listed in spec.frameTimes (90 kHz ticks).
            let third = spec.seconds / 3 * spec.fps
            let tick = 90_000 / spec.fps
            let expr = "if(lt(N,\(third)),N*\(tick),"
                + "if(lt(N,\(third + third / 2)),\(third * tick)+(N-\(third))*\(2 * tick),"
                + "\(2 * third * tick)+(N-\(third + third / 2))*\(tick)))"
            args += ["-vf", "settb=1/90000,setpts='\(expr)'", "-fps_mode", "passthrough"]
            if spec.container == .mp4 { args += ["-video_track_timescale", "90000"] }
        }
        switch spec.codec {
        case .h264BFrames, .h264NoBFrames:
            args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                     "-g", "\(spec.gop)", "-keyint_min", "\(spec.gop)", "-sc_threshold", "0",
                     "-bf", spec.codec == .h264BFrames ? "3" : "0"]
        case .hevcOpenGOP, .hevc10Bit:
            args += ["-c:v", "libx265", "-preset", "fast", "-crf", "24",
                     "-pix_fmt", spec.codec == .hevc10Bit ? "yuv420p10le" : "yuv420p",
                     "-x265-params", "keyint=\(spec.gop):min-keyint=\(spec.gop):scenecut=0:log-level=error"]
        case .mpeg4:
            args += ["-c:v", "mpeg4", "-q:v", "3", "-g", "\(spec.gop)", "-bf", "0", "-pix_fmt", "yuv420p"]
        }
        args += ["-c:a", "aac", "-b:a", "96k"]
        if spec.startOffset != 0 { args += ["-output_ts_offset", "\(spec.startOffset)"] }
        args += ["-f", spec.container.ffmpegFormat, output.path]
        return args
    }
}
