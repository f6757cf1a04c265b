import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// One source opened for rendering: indexed, its range planned (frame-exact, through the cut
/// engine's planner), its decoders open. `run` reads the range once and fans every decoded frame
/// out to the outputs, each on its own queue, then finishes them all or discards them all.
final class SourceSession {
    let path: String
    let demuxer: Demuxer
    let index: PacketIndex
    let planner: CutPlanner
    let plan: PlannedRange
    let reader: SourceReader
    let info: StreamInfo
    let frameRate: AVRational
    var videoInput: FilterGraph.VideoInput
    var audioInput: FilterGraph.AudioInput?
    var timeBase: TimeBase { index.timeBase }
    /// Upright picture size (display rotation applied).
    var uprightSize: (width: Int, height: Int) {
        RenderPlanner.uprightFilters(rotation: info.rotation).swapsAxes
            ? (videoInput.height, videoInput.width) : (videoInput.width, videoInput.height)
    }

    /// The video stream's global header (avcC/hvcC), empty when its parameter sets are in-band.
    var videoExtradata: [UInt8] {
        let par = demuxer.stream(info.index).pointee.codecpar.pointee
        return par.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(par.extradata_size))) } ?? []
    }

    /// Frames an output may have queued before the decoder waits for it.
    static let queueDepth = 8

    /// - Parameter audio: false reads the video alone (a chunk of an output's video).
    init(input: String, range: RangeRequest?, progress: ProgressReporter?, audio: Bool = true) throws {
        path = input
        do { demuxer = try Demuxer(path: input) } catch let e as MediaError {
            throw CutError(.notMedia, path: input, detail: "not a readable media file (\(e.message))")
        }
        guard let videoIndex = demuxer.bestVideoStream else {
            throw CutError(.noVideo, path: input, detail: "has no video stream")
        }
        do {
            index = try PacketIndexer.index(path: input, demuxer: demuxer, videoStream: videoIndex) { f in
                progress?.update(stage: "indexing", fraction: f)
            }
        } catch let e as MediaError {
            throw CutError(.truncated, path: input, detail: "can't be read (\(e.message))")
        }
        guard !index.packets.isEmpty else { throw CutError(.truncated, path: input, detail: "holds no readable video packets") }
        planner = CutPlanner(index: index, path: input)
        plan = try planner.plan(range ?? RangeRequest(from: .frame(0), to: .frame(planner.order.count)), mode: .exact)
        do {
            reader = try SourceReader(demuxer: demuxer, index: index, planner: planner, videoStream: videoIndex,
                                      audioStream: audio ? demuxer.bestAudioStream : nil, path: input,
                                      note: { [progress] in progress?.note($0) })
        } catch let e as MediaError {
            throw CutError(.notMedia, path: input, detail: "can't be decoded (\(e.description))")
        }
        info = demuxer.streams[videoIndex]
        let vctx = reader.videoContext
        videoInput = FilterGraph.VideoInput(width: Int(vctx.pointee.width), height: Int(vctx.pointee.height),
                                            pixelFormat: vctx.pointee.pix_fmt.rawValue, timeBase: index.timeBase)
        videoInput.sampleAspectRatio = vctx.pointee.sample_aspect_ratio
        videoInput.colour = ColourProperties(context: vctx)
        frameRate = info.averageFrameRate.num > 0 ? info.averageFrameRate : info.realFrameRate
        videoInput.frameRate = frameRate
        guard videoInput.width > 0, videoInput.height > 0, videoInput.pixelFormat >= 0 else {
            throw CutError(.notMedia, path: input, detail: "the video stream's picture size or format is unknown")
        }
        if let actx = reader.audioContext, let abase = reader.audioTimeBase {
            audioInput = FilterGraph.AudioInput(sampleRate: Int(actx.pointee.sample_rate), sampleFormat: actx.pointee.sample_fmt.rawValue,
                                                channels: max(1, Int(actx.pointee.ch_layout.nb_channels)), timeBase: abase)
        }
    }

    /// Reads the range once into every pipeline; finishes (publishes) them all, or discards them all.
    /// Returns the source frames read.
    /// - Parameters:
    ///   - range: what to read (default: the session's plan), timed from `origin` (default: its first frame).
    func run(_ pipelines: [OutputPipeline], progress: ProgressReporter?, stage: String = "transcoding",
             range: PlannedRange? = nil, origin: Int64? = nil, decodesVideo: Bool = true) throws -> Int {
        let plan = range ?? self.plan
        let lanes = pipelines.map { Lane(pipeline: $0) }
        let fromSource = lanes.filter(\.pipeline.videoFromSource)
        for lane in lanes {
            guard let next = lane.pipeline.cascadeNext, let nextLane = lanes.first(where: { $0.pipeline === next }) else { continue }
            lane.pipeline.forward = { frame in
                let shared = SharedFrame(try SourceSession.copy(frame))
                nextLane.submit { next.video(shared.frame) }
            }
        }
        let base = timeBase
        let audioEnd = reader.audioTimeBase.map { base.rescale(plan.endPTS - plan.firstPTS, to: $0) + Int64($0.den) / 2 } ?? 0
        do {
            let kept = try reader.read(plan, audioEnd: audioEnd, origin: origin, decodesVideo: decodesVideo, video: { frame in
                let shared = SharedFrame(try SourceSession.copy(frame))
                for lane in fromSource { lane.submit { lane.pipeline.video(shared.frame) } }
                if let failure = lanes.lazy.compactMap({ $0.pipeline.failure }).first { throw failure }
            }, audio: { frame in
                let shared = SharedFrame(try SourceSession.copy(frame))
                for lane in lanes { lane.submit { lane.pipeline.audio(shared.frame) } }
            }, progress: { f in progress?.update(stage: stage, fraction: f) })
            guard kept == plan.frameCount else {
                throw CutError(.truncated, path: path, detail: "decoded \(kept) of the range's \(plan.frameCount) frames")
            }
            for lane in lanes { lane.wait() }
            // In order: finishing a cascade's rung sends its last frames on to the next one's lane.
            for (lane, p) in zip(lanes, pipelines) {
                lane.wait()
                do { try p.finish() } catch let e as MediaError {
                    throw CutError(.failed, path: p.path, detail: "\(p.profile.name): \(e.description)")
                }
            }
            // Every output is complete: only now are they renamed into place.
            for p in pipelines {
                do { try p.publish() } catch let e as MediaError {
                    throw CutError(.failed, path: p.path, detail: "\(p.profile.name): \(e.description)")
                }
            }
            return kept
        } catch {
            for lane in lanes { lane.wait() }
            pipelines.forEach { $0.discard() }
            // One line naming the file, whatever layer failed.
            if let e = error as? MediaError { throw CutError(.failed, path: path, detail: e.description) }
            throw error
        }
    }

    static func copy(_ frame: Frame) throws -> Frame {
        let copy = Frame()
        try copy.reference(frame)
        return copy
    }
}

/// A decoded frame shared read-only by every output's queue (each filter graph takes its own reference).
struct SharedFrame: @unchecked Sendable {
    let frame: Frame
    init(_ frame: Frame) { self.frame = frame }
}

/// One output's serial queue, with a bound on the frames waiting in it.
final class Lane: @unchecked Sendable {
    let pipeline: OutputPipeline
    private let queue: DispatchQueue
    private let slots = DispatchSemaphore(value: SourceSession.queueDepth)
    private let group = DispatchGroup()

    init(pipeline: OutputPipeline) {
        self.pipeline = pipeline
        queue = DispatchQueue(label: "reprise.output.\(pipeline.profile.name)")
    }

    func submit(_ work: @escaping @Sendable () -> Void) {
        slots.wait()
        queue.async(group: group) { [slots] in
            work()
            slots.signal()
        }
    }

    func wait() { group.wait() }
}
