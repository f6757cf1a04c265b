import CFFmpeg
import Foundation

/// Writes a recording whose every frame shows its own index as a barcode (24 bits and their
/// complement in a 6×8 grid, the layout of shared/tools/mkinput.py) over a moving background,
/// with a 50 ms 1 kHz beep at every whole second — so any cut of it can be checked frame by frame.
/// Media layer only (no cut types): errors are `MediaError`s naming the file, progress is a plain
/// callback.
public struct SampleRecording {
    public var path: String
    public var seconds: Double
    public var width: Int
    public var height: Int
    public var fps: Int
    public var gop: Int
    public var codec: String

    public init(path: String, seconds: Double, width: Int, height: Int, fps: Int, gop: Int, codec: String) {
        self.path = path; self.seconds = seconds; self.width = width & ~1; self.height = height & ~1
        self.fps = fps; self.gop = gop; self.codec = codec
    }

    /// Writes the file. `progress` gets the fraction (0…1) of frames encoded so far.
    public func write(progress: ((Double) -> Void)? = nil) throws {
        let dir = (path as NSString).deletingLastPathComponent
        guard access(dir.isEmpty ? "." : dir, W_OK) == 0 else {
            throw MediaError(path, message: "output folder is not writable")
        }
        let ext = (path as NSString).pathExtension.lowercased()
        let formats = ["mp4": "mp4", "mkv": "matroska", "ts": "mpegts", "flv": "flv", "mov": "mov"]
        guard let format = formats[ext] else { throw MediaError(path, message: "unknown output type '.\(ext)'") }
        let muxer = try Muxer(path: path, formatName: format)
        let tb = TimeBase(1, Int32(fps))
        var vs = VideoEncoderSettings(codecName: codec, width: width, height: height,
                                      pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: tb,
                                      frameRate: AVRational(num: Int32(fps), den: 1))
        vs.gopSize = gop
        vs.maxBFrames = 3
        vs.globalHeader = muxer.needsGlobalHeader
        vs.options = ["preset": "veryfast", "crf": "20"]
        if codec == "libx265" { vs.options["x265-params"] = "log-level=error:keyint=\(gop)" }
        let video = try Encoder(video: vs)
        let vst = try muxer.addStream()
        try video.copyParameters(to: vst)
        vst.pointee.time_base = tb.rational
        vst.pointee.avg_frame_rate = AVRational(num: Int32(fps), den: 1)

        let rate = 48000
        var asettings = AudioEncoderSettings(sampleRate: rate, channels: 1, bitRate: 96_000)
        asettings.globalHeader = muxer.needsGlobalHeader
        let audio = try Encoder(audio: asettings)
        let ast = try muxer.addStream()
        try audio.copyParameters(to: ast)
        ast.pointee.time_base = audio.timeBase.rational
        try muxer.writeHeader(options: format == "mp4" ? ["movflags": "+faststart"] : [:])

        let frame = Frame(), packet = Packet(), aframe = Frame()
        let total = Int((seconds * Double(fps)).rounded())
        let totalSamples = Int((seconds * Double(rate)).rounded())
        var samplesDone = 0
        let side = (height / 2) / 48 * 48
        func encode(_ enc: Encoder, _ f: Frame?, _ stream: Int, _ from: TimeBase) throws {
            try enc.encode(f, into: packet) { packet in
                packet.pointer.pointee.stream_index = Int32(stream)
                packet.rescale(from: from, to: muxer.timeBase(of: stream))
                try muxer.write(packet)
            }
        }
        for i in 0..<total {
            try fillFrame(frame, index: i, side: side)
            frame.pts = Int64(i)
            try encode(video, frame, 0, tb)
            // Audio up to this frame's end time keeps the file interleaved.
            let until = min(totalSamples, (i + 1) * rate / fps)
            while samplesDone + audio.frameSize <= until || (i == total - 1 && samplesDone < totalSamples) {
                let n = min(audio.frameSize, totalSamples - samplesDone)
                try fillBeep(aframe, start: samplesDone, count: n, rate: rate)
                aframe.pts = Int64(samplesDone)
                samplesDone += n
                try encode(audio, aframe, 1, audio.timeBase)
            }
            if i % 30 == 0 { progress?(Double(i) / Double(total)) }
        }
        try encode(video, nil, 0, tb)
        try encode(audio, nil, 1, audio.timeBase)
        try muxer.finish()
        let codes: [String: Any] = ["side_ratio": Double(side) / Double(height), "fps": "\(fps)", "frames": total,
                                    "seconds": seconds, "aspect": Double(width) / Double(height)]
        if let data = try? JSONSerialization.data(withJSONObject: codes) {
            try? data.write(to: URL(fileURLWithPath: path + ".codes.json"))
        }
    }

    private func fillFrame(_ frame: Frame, index: Int, side: Int) throws {
        frame.unref()
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        frame.pointer.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        try check(av_frame_get_buffer(frame.pointer, 0), "frame buffer")
        let f = frame.pointer.pointee
        let y = f.data.0!, ls = Int(f.linesize.0)
        for row in 0..<height {
            let base = y.advanced(by: row * ls)
            for col in 0..<width { base[col] = UInt8(truncatingIfNeeded: 40 + ((col + row + index * 4) & 127)) }
        }
        for plane in [f.data.1!, f.data.2!] {
            let l = Int(plane == f.data.1! ? f.linesize.1 : f.linesize.2)
            for row in 0..<(height / 2) { plane.advanced(by: row * l).update(repeating: 128, count: width / 2) }
        }
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        let cw = side / 8, ch = side / 6
        for b in 0..<24 {
            let bit = (index >> b) & 1
            let r = b / 8, c = b % 8
            for (rr, value) in [(r, bit == 1 ? 235 : 16), (r + 3, bit == 1 ? 16 : 235)] {
                for row in (y0 + rr * ch)..<(y0 + (rr + 1) * ch) {
                    y.advanced(by: row * ls + x0 + c * cw).update(repeating: UInt8(value), count: cw)
                }
            }
        }
    }

    private func fillBeep(_ frame: Frame, start: Int, count: Int, rate: Int) throws {
        frame.unref()
        frame.pointer.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointer.pointee.nb_samples = Int32(count)
        frame.pointer.pointee.sample_rate = Int32(rate)
        av_channel_layout_default(&frame.pointer.pointee.ch_layout, 1)
        try check(av_frame_get_buffer(frame.pointer, 0), "audio buffer")
        let out = UnsafeMutableRawPointer(frame.pointer.pointee.data.0!).assumingMemoryBound(to: Float.self)
        for k in 0..<count {
            let s = start + k
            let inSecond = s % rate
            out[k] = inSecond < rate / 20 ? Float(0.5 * sin(2 * Double.pi * 1000 * Double(inSecond) / Double(rate))) : 0
        }
    }
}
