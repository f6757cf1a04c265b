import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// One recording held open for previews: its demuxer, its packet index (the cut engine's, from
/// the same cache), the cut planner over it, a decoder per parameter-set entry, and the JPEG
/// maker. FFmpeg contexts are not thread-safe: `lock` gives it to one caller at a time. Every
/// FFmpeg object is owned by a media-layer wrapper and freed when the last reference goes (an
/// entry evicted while in use lives until its caller is done).
final class PreviewRecording {
    let path: String
    let identity: FileIdentity
    let lock = NSLock()
    private let demuxer: Demuxer
    private let index: PacketIndex
    let planner: CutPlanner
    private let reader: RecordingReader
    private let videoStream: Int
    private let decoderThreads: Int
    private var decoders: [Int: Decoder] = [:]
    private let jpeg = PreviewJPEG()
    private let packet = Packet()
    private let frame = Frame()
    private let shown = Frame()

    /// Opens `path` the way the cut engine does: checks, demuxer, best video stream, packet index
    /// (loaded from the cache when it still matches the file, else built and cached).
    init(path: String, decoderThreads: Int) throws {
        self.path = path
        self.decoderThreads = decoderThreads
        try InputChecks.validate(input: path)
        identity = try FileIdentity(path: path)
        do { demuxer = try Demuxer(path: path) } catch let e as MediaError {
            throw CutError(.notMedia, path: path, detail: "not a readable media file (\(e.message))")
        }
        guard let v = demuxer.bestVideoStream else { throw CutError(.noVideo, path: path, detail: "has no video stream") }
        videoStream = v
        do { index = try PacketIndexer.index(path: path, demuxer: demuxer, videoStream: v) } catch let e as MediaError {
            throw CutError(.truncated, path: path, detail: "can't be read (\(e.message))")
        }
        guard !index.packets.isEmpty else { throw CutError(.truncated, path: path, detail: "holds no readable video packets") }
        planner = CutPlanner(index: index, path: path)
        guard !planner.order.isEmpty else { throw CutError(.noVideo, path: path, detail: "has no decodable video frame") }
        reader = RecordingReader(demuxer: demuxer, index: index, audioStream: nil)
        // Previews read video only: the demuxer skips the rest.
        demuxer.keepOnly([v])
    }

    /// Whether the file is still the one opened (a recording still being written changes).
    func matches(_ current: FileIdentity) -> Bool {
        current.size == identity.size && current.modificationTime == identity.modificationTime
            && current.inode == identity.inode && current.device == identity.device
    }

    /// Frames on the recording's timeline (what `f<N>` counts).
    var frameCount: Int { planner.order.count }

    /// Seconds from the recording's start of the frame at `position` (presentation order).
    func seconds(ofFrame position: Int) -> Double {
        planner.timeBase.seconds(planner.packets[planner.order[position]].pts - planner.origin)
    }

    /// The JPEG of the frame at `position` in presentation order. The cut engine's own plan for a
    /// one-frame exact cut says what to decode: from the random-access point at or before the
    /// frame, through the packets up to it (B-frames reordered by the decoder), in the run's
    /// parameter sets. Decoding stops as soon as the frame comes out.
    func jpeg(frame position: Int, maxWidth: Int) throws -> FramePreviewImage {
        let plan = try planner.plan(RangeRequest(from: .frame(position), to: .frame(position + 1)), mode: .exact)
        guard let step = plan.head else { throw CutError(.failed, path: path, detail: "internal: no decode step for frame f\(position)") }
        let target = plan.firstPTS
        let decoder = try decoder(forRunOf: step.decode.lowerBound)
        decoder.reset()
        defer {
            decoder.reset()  // the next preview starts at another random-access point
            decoder.context.pointee.skip_frame = AVDISCARD_DEFAULT
        }
        // Pictures before the frame's own packet that no other picture refers to are never shown:
        // the decoder skips them (about half the pictures of a B-frame GOP).
        let targetPacket = step.decode.first { index.packets[$0].pts == target } ?? step.decode.lowerBound
        try reader.sync(to: step.decode.lowerBound, in: index, audioFrom: .max, packet: packet,
                        audio: { _, _ in .skip }, restart: {}, path: path)

        var found = false
        // `shown` holds the latest earlier picture meanwhile: a frame too damaged to decode is
        // shown as the picture before it, as the cut engine writes it.
        var fallback: Int64? = nil
        func consider(_ f: Frame) throws {
            guard !found else { return }
            let pts = f.bestEffortTimestamp
            if pts == target {
                try shown.reference(f); found = true
            } else if pts < target && pts > (fallback ?? .min) {
                try shown.reference(f); fallback = pts
            }
        }
        var next = step.decode.lowerBound
        var havePacket = true  // sync leaves the first packet of the span in `packet`
        read: while next < step.decode.upperBound && !found {
            if !havePacket {
                switch reader.read(into: packet) {
                case .packet: break
                case .endOfFile, .damaged: break read
                }
            }
            havePacket = false
            guard packet.streamIndex == videoStream else { continue }
            let expected = index.packets[next]
            if packet.pts != NOPTS && packet.pts != expected.pts {
                throw CutError(.failed, path: path, detail: "packet order differs from the index (pts \(packet.pts), expected \(expected.pts)); delete \(PacketIndexer.cacheLocations(for: path).first ?? "its index cache") and retry")
            }
            decoder.context.pointee.skip_frame = next < targetPacket ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
            // Packets that refer to pictures the recording lacks (it began mid-GOP) are never decoded.
            if !expected.isUndecodable { try decoder.decode(packet, into: frame, consider) }
            next += 1
        }
        if !found { try decoder.decode(nil, into: frame, consider) }
        guard found || fallback != nil else {
            throw CutError(.truncated, path: path, detail: "the picture at \(String(format: "%.3fs", seconds(ofFrame: position))) (f\(position)) can't be decoded")
        }
        let image = try jpeg.encode(shown, maxWidth: maxWidth)
        shown.unref()
        return FramePreviewImage(data: image.data, frameIndex: position, seconds: seconds(ofFrame: position),
                                 width: image.width, height: image.height)
    }

    /// A decoder for the run holding packet `first`: a run after a reconnect may bring its own
    /// sequence header, decoded with that one (as the cut engine's edges are).
    private func decoder(forRunOf first: Int) throws -> Decoder {
        let sets = planner.runs[planner.run(ofPacket: first)].parameterSets
        let entry = sets > 0 && sets < index.header.parameterSets.count ? sets : 0
        if let d = decoders[entry] { return d }
        let d = try Decoder(parameters: demuxer.stream(videoStream).pointee.codecpar, timeBase: index.timeBase,
                            threads: decoderThreads, extradata: entry > 0 ? index.header.parameterSets[entry] : nil)
        decoders[entry] = d
        return d
    }
}
