import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia
import RepriseTranscode

/// A cover for an output: the sharpest frame (libavfilter's `blurdetect`) of a stretch inside the
/// output (see `CoverSpots`), upright, cropped to 16:9 and 9:16, as JPEG and WebP.
public enum CoverMaker {
    public struct Made: Codable, Sendable {
        public var time: Double
        public var files: [String]
    }

    static let shapes: [(name: String, width: Int, height: Int)] = [("16x9", 1280, 720), ("9x16", 720, 1280)]

    /// - Parameters:
    ///   - around: the moment chosen, for messages.
    ///   - spans: seconds of the recording to look in, tried in order until one holds a frame; a
    ///     frame at a span's end is not taken (it is not in an output whose range ends there).
    ///   - avoiding: frames (their times) that other outputs' covers show, not taken while the span
    ///     has another frame.
    ///   - base: output path without extension; files are `base.cover-16x9.jpg` etc.
    public static func make(input: String, around: Double, within spans: [Range<Double>], avoiding: [Double] = [],
                            base: String) throws -> Made {
        let demuxer = try Demuxer(path: input)
        guard let v = demuxer.bestVideoStream else { throw MediaError("cover", message: "\(input): no video stream") }
        let index = try PacketIndexer.index(path: input, demuxer: demuxer, videoStream: v)
        let reader = RecordingReader(demuxer: demuxer, index: index, audioStream: nil)
        demuxer.keepOnly([v])
        let st = demuxer.stream(v)
        let tb = TimeBase(st.pointee.time_base)
        let origin = Double(demuxer.startTimeMicros) / 1_000_000
        var source: FilterGraph.VideoInput? = nil
        var chosen: (blur: Double, frame: Frame, time: Double)? = nil
        for span in spans where chosen == nil {
            let lo = span.lowerBound, hi = span.upperBound
            // Seek to the decode start before `lo`, by its byte position where the timeline was closed up.
            let wanted = tb.ticks(seconds: origin + max(0, lo - 0.1))
            let start = index.packets.lastIndex { $0.isDecodeStart && !$0.isUndecodable && $0.pts <= wanted }
            if reader.map.isIdentity { try? reader.seek(stream: v, timestamp: wanted) }
            else if let start, index.packets[start].position >= 0 { try? reader.seek(bytePosition: index.packets[start].position) }
            else { try? reader.seek(bytePosition: 0) }
            let decoder = try Decoder(parameters: st.pointee.codecpar, timeBase: tb)
            let ctx = decoder.context
            var decoded = FilterGraph.VideoInput(width: Int(ctx.pointee.width), height: Int(ctx.pointee.height),
                                                 pixelFormat: ctx.pointee.pix_fmt.rawValue, timeBase: tb)
            decoded.sampleAspectRatio = ctx.pointee.sample_aspect_ratio
            source = decoded
            let measure = try FilterGraph(video: decoded, description: "scale=320:-2,format=yuv420p,blurdetect")
            let packet = Packet(), frame = Frame(), small = Frame()
            var best: (blur: Double, frame: Frame, time: Double)? = nil
            var bestAvoided: (blur: Double, frame: Frame, time: Double)? = nil
            var done = false
            func consider(_ frame: Frame) throws {
                let t = tb.seconds(frame.bestEffortTimestamp) - origin
                if t >= hi { done = true }
                // Within a microsecond: the span's edges are the cut's, which keeps a frame at the start.
                guard t >= lo - 1e-6, t < hi - 1e-6 else { return }
                let avoided = avoiding.contains { abs($0 - t) < 1e-3 }  // `Made.time` is rounded to the millisecond
                frame.pts = frame.bestEffortTimestamp
                try measure.send(frame)
                while try measure.receive(into: small) == .ok {
                    let blur = small.pointer.pointee.metadata.flatMap { av_dict_get($0, "lavfi.blur", nil, 0) }
                        .flatMap { Double(String(cString: $0.pointee.value)) } ?? .infinity
                    if avoided ? bestAvoided == nil || blur < bestAvoided!.blur : best == nil || blur < best!.blur {
                        let keep = Frame()
                        try keep.reference(frame)
                        if avoided { bestAvoided = (blur, keep, t) } else { best = (blur, keep, t) }
                    }
                }
            }
            while !done {
                switch reader.read(into: packet) {
                case .endOfFile, .damaged: done = true; continue
                case .packet: break
                }
                guard packet.streamIndex == v else { continue }
                try decoder.decode(packet, into: frame, consider)
            }
            try decoder.decode(nil, into: frame, consider)
            chosen = best ?? bestAvoided
        }
        guard let chosen, let source else { throw MediaError("cover", message: "\(input): no frame near \(around) s") }

        var files: [String] = []
        let upright = RenderPlanner.uprightFilters(rotation: demuxer.streams[v].rotation).filters
        for shape in shapes {
            let crop = "scale=\(shape.width):\(shape.height):force_original_aspect_ratio=increase,crop=\(shape.width):\(shape.height),setsar=1"
            for (ext, encoder, format, options) in [("jpg", "mjpeg", AV_PIX_FMT_YUVJ420P, ["flags": "+qscale", "global_quality": "354"]),
                                                    ("webp", "libwebp", AV_PIX_FMT_YUV420P, ["quality": "82"])] {
                let name = String(cString: av_get_pix_fmt_name(format))
                let graph = try FilterGraph(video: source, description: (upright + [crop, "format=\(name)"]).joined(separator: ","))
                try graph.send(chosen.frame)
                try graph.send(nil)
                let picture = Frame()
                guard try graph.receive(into: picture) == .ok else { throw MediaError("cover", message: "no picture out of the filter") }
                var settings = VideoEncoderSettings(codecName: encoder, width: shape.width, height: shape.height, pixelFormat: format.rawValue,
                                                    timeBase: TimeBase(1, 25), frameRate: AVRational(num: 25, den: 1),
                                                    sampleAspectRatio: AVRational(num: 1, den: 1))
                settings.options = options
                settings.threads = 1
                settings.colorRange = format == AV_PIX_FMT_YUVJ420P ? 2 : 0
                let enc = try Encoder(video: settings)
                picture.pts = 0
                picture.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
                let out = Packet()
                var bytes: [UInt8]? = nil
                let keep: (Packet) -> Void = { p in if bytes == nil && p.size > 0 { bytes = Array(p.bytes) } }
                try enc.encode(picture, into: out, keep)
                try enc.encode(nil, into: out, keep)
                guard let bytes else { throw MediaError("cover", message: "\(encoder) gave no picture") }
                let path = "\(base).cover-\(shape.name).\(ext)"
                try write(Data(bytes), to: path)
                files.append(path)
            }
        }
        return Made(time: (chosen.time * 1000).rounded() / 1000, files: files)
    }

    /// Temporary name, then rename: no half-written file under the final name.
    static func write(_ data: Data, to path: String) throws {
        do {
            // The temporary is removed if a signal stops us mid-write.
            try AtomicPublish.write(data, to: path) { temporary, writing in
                if writing { TemporaryFiles.shared.register(temporary) } else { TemporaryFiles.shared.unregister(temporary) }
            }
        } catch let e as AtomicPublish.Failure {
            throw MediaError("write", message: e.description)
        }
    }
}
