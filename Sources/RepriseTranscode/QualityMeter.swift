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
/// once, each rung's HLS rendition decoded alongside it, frame by frame in order; the source
/// picture is scaled down to the rung's size (bicubic) and compared there.
enum QualityMeter {
    static let method = "source scaled down to the rung (bicubic), then libavfilter psnr and ssim"

    static func measure(input: String, range: RangeRequest?, rungs: [String], path: String,
                        progress: ProgressReporter?) throws -> [RungQuality] {
        let source = try SourceSession(input: input, range: range, progress: nil)
        // Frames are compared in order: both sides get their position as time stamp.
        let tick = TimeBase(1, 1000)
        var sourceInput = source.videoInput
        sourceInput.timeBase = tick
        let meters = try rungs.map { try Meter(playlist: $0, source: sourceInput, rotation: source.info.rotation) }
        let position = Frame()
        var n: Int64 = 0
        do {
            _ = try source.reader.read(source.plan, audioEnd: 0, video: { frame in
                try position.reference(frame)
                position.pts = n
                n += 1
                for m in meters { try m.compare(position) }
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
        var next: Int64 = 0
        var mse = 0.0, ssim = 0.0, frames = 0

        init(playlist: String, source: FilterGraph.VideoInput, rotation: Double) throws {
            demuxer = try Demuxer(path: playlist)
            guard let v = demuxer.bestVideoStream else { throw MediaError("quality report", message: "\(playlist) has no video") }
            stream = v
            demuxer.keepOnly([v])
            let info = demuxer.streams[v]
            decoder = try Decoder(parameters: demuxer.stream(v).pointee.codecpar, timeBase: info.timeBase)
            let rung = FilterGraph.VideoInput(width: info.width, height: info.height, pixelFormat: info.pixelFormat,
                                              timeBase: source.timeBase)
            let upright = RenderPlanner.uprightFilters(rotation: rotation).filters
            let scale = (upright + ["scale=\(info.width):\(info.height):flags=bicubic", "format=yuv420p"]).joined(separator: ",")
            graph = try ComparisonGraph(main: rung, reference: source, description:
                "[ref]\(scale),split[r1][r2];[main]format=yuv420p[d];[d][r1]psnr[p];[p][r2]ssim[out]")
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

        func compare(_ sourceFrame: Frame) throws {
            guard let picture = try nextPicture() else { return }
            picture.pts = sourceFrame.pts
            try graph.send(reference: sourceFrame)
            try graph.send(main: picture)
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
            try graph.send(reference: nil)
            try graph.send(main: nil)
            try drain()
            guard frames > 0 else { throw MediaError("quality report", message: "no frames were compared") }
            let meanMSE = mse / Double(frames)
            let psnr = meanMSE > 0 ? 10 * log10(255 * 255 / meanMSE) : 100
            return RungQuality(psnr: (psnr * 1000).rounded() / 1000, ssim: (ssim / Double(frames) * 100000).rounded() / 100000,
                               frames: frames, method: QualityMeter.method)
        }
    }
}
