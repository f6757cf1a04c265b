import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// A rung's fidelity to the source, measured by libavfilter's psnr and ssim filters.
public struct RungQuality: Encodable, Sendable, Equatable {
    /// dB over all frames, from the mean squared error (as the psnr filter's own "average").
    public var psnr: Double
    /// Mean of the frames' SSIM (all planes).
    public var ssim: Double
    public var frames: Int
    /// How the two pictures were brought to one size.
    public var method: String
}

/// Measures every rung against the source in one more decode: the source's range is decoded
/// once, each rung's HLS rendition decoded alongside it, paired by time; the source
/// picture is scaled down to the rung's size (bicubic) and compared there.
enum QualityMeter {
    static let method = "source scaled down to the rung (bicubic), then libavfilter psnr and ssim"

    static func measure(input: String, range: RangeRequest?, rungs: [String], path: String,
                        progress: ProgressReporter?) throws -> [RungQuality] {
        let source = try SourceSession(input: input, range: range, progress: nil)
        // Both sides are timed in microseconds from their first frame: the filters pair each rung
        // picture with the source picture shown at its time (a rung capped to a lower frame rate
        // has fewer pictures).
        let micro = TimeBase(1, 1_000_000)
        var sourceInput = source.videoInput
        sourceInput.timeBase = micro
        let timed = Frame()
        do {
            let meters = try rungs.map { try Meter(playlist: $0, source: sourceInput, rotation: source.info.rotation) }
            _ = try source.reader.read(source.plan, audioEnd: 0, video: { frame in
                try timed.reference(frame)
                timed.pts = source.timeBase.rescale(frame.pts, to: micro)
                for m in meters { try m.compare(timed) }
            }, audio: { _ in }, progress: { progress?.update(stage: "quality", fraction: $0) })
            return try meters.map { try $0.finish() }
        } catch let e as MediaError {
            throw CutError(.failed, path: path, detail: "quality report: \(e.description)")
        }
    }

    /// One rung: its decoder, and a graph comparing its pictures with the source's.
    final class Meter {
        let demuxer: Demuxer
        let decoder: Decoder
        let stream: Int
        let graph: ComparisonGraph
        let packet = Packet()
        let decoded = Frame()
        let out = Frame()
        var waiting: [Frame] = []
        var ended = false
        let timeBase: TimeBase
        var firstPTS: Int64? = nil
        var pending: Frame? = nil
        let lastSource = Frame()
        var mse = 0.0, ssim = 0.0, frames = 0

        init(playlist: String, source: FilterGraph.VideoInput, rotation: Double) throws {
            demuxer = try Demuxer(path: playlist)
            guard let v = demuxer.bestVideoStream else { throw MediaError("quality report", message: "\(playlist) has no video") }
            stream = v
            demuxer.keepOnly([v])
            let info = demuxer.streams[v]
            timeBase = info.timeBase
            decoder = try Decoder(parameters: demuxer.stream(v).pointee.codecpar, timeBase: info.timeBase)
            let rung = FilterGraph.VideoInput(width: info.width, height: info.height, pixelFormat: info.pixelFormat,
                                              timeBase: source.timeBase)
            let upright = RenderPlanner.uprightFilters(rotation: rotation).filters
            let scale = (upright + ["scale=\(info.width):\(info.height):flags=bicubic", "format=yuv420p"]).joined(separator: ",")
            graph = try ComparisonGraph(main: rung, reference: source, description:
                "[ref]\(scale),split[r1][r2];[main]format=yuv420p[d];[d][r1]psnr=eof_action=endall[p];[p][r2]ssim=eof_action=endall[out]")
        }

        /// The rung's next picture, in presentation order, or nil at its end.
        func nextPicture() throws -> Frame? {
            while waiting.isEmpty && !ended {
                switch demuxer.read(into: packet) {
                case .packet:
                    guard packet.streamIndex == stream else { continue }
                    try decoder.decode(packet, into: decoded) { f in waiting.append(try SourceSession.copy(f)) }
                case .endOfFile, .damaged:
                    try decoder.decode(nil, into: decoded) { f in waiting.append(try SourceSession.copy(f)) }
                    ended = true
                }
            }
            return waiting.isEmpty ? nil : waiting.removeFirst()
        }

        /// Microseconds from the rung's first picture, plus one millisecond: the filters pair a
        /// rung picture with the last source picture at or before it, and rounding between time
        /// bases must never make that the one before.
        func time(of picture: Frame) -> Int64 {
            timeBase.rescale(picture.bestEffortTimestamp - (firstPTS ?? 0), to: TimeBase(1, 1_000_000)) + 1000
        }

        /// A source picture (microseconds from the range start), then the rung's pictures up to its time.
        func compare(_ sourceFrame: Frame) throws {
            try graph.send(reference: sourceFrame)
            try lastSource.reference(sourceFrame)
            while true {
                if pending == nil, let picture = try nextPicture() {
                    if firstPTS == nil { firstPTS = picture.bestEffortTimestamp }
                    picture.pts = time(of: picture)
                    pending = picture
                }
                guard let picture = pending, picture.pts <= sourceFrame.pts else { break }
                try graph.send(main: picture)
                pending = nil
            }
            try drain()
        }

        func drain() throws {
            while try graph.receive(into: out) == .ok {
                guard let m = out.metadata("lavfi.psnr.mse_avg").flatMap(Double.init),
                      let s = out.metadata("lavfi.ssim.All").flatMap(Double.init) else { continue }
                mse += m; ssim += s; frames += 1
            }
        }

        func finish() throws -> RungQuality {
            while let picture = try pending ?? nextPicture() {
                if pending == nil {
                    if firstPTS == nil { firstPTS = picture.bestEffortTimestamp }
                    picture.pts = time(of: picture)
                }
                pending = nil
                try graph.send(main: picture)
            }
            // A source picture after every rung picture settles the last one's pairing; the rung's
            // end then ends the comparison (eof_action=endall), so that picture is not compared.
            lastSource.pts += 1_000_000_000
            try graph.send(reference: lastSource)
            try graph.send(main: nil)
            try graph.send(reference: nil)
            try drain()
            guard frames > 0 else { throw MediaError("quality report", message: "no frames were compared") }
            let meanMSE = mse / Double(frames)
            let psnr = meanMSE > 0 ? 10 * log10(255 * 255 / meanMSE) : 100
            return RungQuality(psnr: (psnr * 1000).rounded() / 1000, ssim: (ssim / Double(frames) * 100000).rounded() / 100000,
                               frames: frames, method: QualityMeter.method)
        }
    }
}
