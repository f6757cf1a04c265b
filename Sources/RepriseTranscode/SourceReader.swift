import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// Reads one frame-exact range of a recording: seeks before the range's decode start (the
/// packet index says which packet that is), feeds the video decoder from exactly that packet,
/// hands on the decoded frames presented in the range, and the audio around it. Frames leave
/// timed from the range start: video in the video stream's time base, audio in the audio's.
final class SourceReader {
    let demuxer: Demuxer
    /// Reads on the closed-up timeline (resets closed, runs laid end to end).
    let reader: RecordingReader
    let planner: CutPlanner
    let index: PacketIndex
    let videoStream: Int
    let audioStream: Int?
    let path: String
    private let videoDecoder: Decoder
    private let audioDecoder: Decoder?
    private let packet = Packet()
    private let frame = Frame()
    /// Pictures of another size or format (a run after a reconnect) are brought to the first's.
    private var scaler: Scaler? = nil
    private let scaled = Frame()
    private let progressNote: ((String) -> Void)?
    private let audioNormalizer: AudioNormalizer?

    init(demuxer: Demuxer, index: PacketIndex, planner: CutPlanner, videoStream: Int, audioStream: Int?, path: String,
         note: ((String) -> Void)? = nil) throws {
        self.demuxer = demuxer; self.index = index; self.videoStream = videoStream; self.path = path
        self.planner = planner
        self.progressNote = note
        let v = demuxer.stream(videoStream)
        videoDecoder = try Decoder(parameters: v.pointee.codecpar, timeBase: TimeBase(v.pointee.time_base))
        if let a = audioStream {
            let s = demuxer.stream(a)
            audioDecoder = try? Decoder(parameters: s.pointee.codecpar, timeBase: TimeBase(s.pointee.time_base), threads: 1)
        } else {
            audioDecoder = nil
        }
        self.audioStream = audioDecoder == nil ? nil : audioStream
        reader = RecordingReader(demuxer: demuxer, index: index, audioStream: self.audioStream)
        // The decoder's context follows a mid-stream change; what the outputs were built for doesn't.
        audioNormalizer = audioDecoder.map(AudioNormalizer.init(decoder:))
        audioNormalizer?.onChange = { [path] rate, channels in
            note?("\(path): the audio changes to \(rate) Hz, \(channels) channel(s); resampled")
        }
        demuxer.keepOnly(Set([videoStream] + (self.audioStream.map { [$0] } ?? [])))
    }

    var videoContext: UnsafeMutablePointer<AVCodecContext> { videoDecoder.context }
    var audioContext: UnsafeMutablePointer<AVCodecContext>? { audioDecoder?.context }
    var audioTimeBase: TimeBase? { audioStream.map { TimeBase(demuxer.stream($0).pointee.time_base) } }

    /// Reads `plan` (an exact-mode plan: one re-encode step). Returns the frames handed on.
    /// - Parameter audioEnd: audio is read until this presentation time (relative, audio time base).
    /// - Parameter origin: the time frames are timed from (video time base); nil: the plan's first
    ///   frame. A chunk of a longer output keeps the whole output's times.
    /// - Parameter decodesVideo: false reads the audio alone (video packets are read past, not
    ///   decoded): the audio part of a chunked encode, the same audio frames as a full read.
    func read(_ plan: PlannedRange, audioEnd: Int64, origin: Int64? = nil, decodesVideo: Bool = true,
              video onVideo: (Frame) throws -> Void, audio onAudio: (Frame) throws -> Void,
              progress: (Double) -> Void) throws -> Int {
        guard let step = plan.head else { throw CutError(.failed, path: path, detail: "internal: the plan has no decode step") }
        let videoBase = index.timeBase
        let origin = origin ?? plan.firstPTS
        let audioOffset = audioTimeBase.map { videoBase.rescale(origin, to: $0) } ?? 0
        var kept = 0
        var videoLeft = step.decode.count
        var next = step.decode.lowerBound
        var schedule = FrameSchedule(planner: planner, keep: step.keep)
        let last = Frame()
        var hasLast = false

        func deliver(_ picture: Frame, at pts: Int64) throws {
            picture.pts = pts - origin
            kept += 1
            try onVideo(picture)
            if kept % 8 == 0 { progress(Double(kept) / Double(max(plan.frameCount, 1))) }
        }
        /// Slots a damaged packet left empty show the picture before them.
        func repeatLast(at pts: Int64) throws {
            let again = Frame()
            try again.reference(last)
            try deliver(again, at: pts)
        }
        func decodeVideo(_ p: Packet?) throws {
            try videoDecoder.decode(p, into: frame) { frame in
                let pts = frame.bestEffortTimestamp
                guard step.keep.contains(pts) else { return }
                let (missed, ok) = schedule.admit(pts)
                guard ok || !missed.isEmpty else { return }
                let picture = try self.normalized(frame)
                if !hasLast { try last.reference(picture); hasLast = true }
                for t in missed { try repeatLast(at: t) }
                guard ok else { return }
                try last.reference(picture)
                try deliver(picture, at: pts)
            }
        }
        // A read that starts in a run after a reconnect decodes with that run's sequence header,
        // which the decoder (opened on the stream's first) would otherwise never see.
        var runSets: [UInt8]? = {
            let sets = planner.runs[planner.run(ofPacket: step.decode.lowerBound)].parameterSets
            return sets > 0 && sets < index.header.parameterSets.count ? index.header.parameterSets[sets] : nil
        }()
        func feedVideo(_ p: Packet) throws {
            guard decodesVideo else { next += 1; return }
            // Packets that refer to pictures the recording lacks (it began mid-GOP) are never decoded.
            if next < index.packets.count && index.packets[next].isUndecodable { next += 1; return }
            next += 1
            if let sets = runSets {
                runSets = nil
                if p.newExtradata == nil { try p.attachExtradata(sets) }
            }
            try decodeVideo(p)
        }
        func finishVideo() throws {
            guard decodesVideo else { return }
            try decodeVideo(nil)
            let rest = schedule.rest()
            if !rest.isEmpty && hasLast { for t in rest { try repeatLast(at: t) } }
            if schedule.filled > 0 {
                progressNote?("\(path): \(schedule.filled) damaged frame(s) shown as the picture before them")
            }
        }
        let splicer = audioTimeBase.map { AudioSplicer(timeBase: $0) }
        func decodeAudio(_ p: Packet?) throws {
            try audioDecoder?.decode(p, into: frame) { frame in
                let pts = frame.bestEffortTimestamp
                guard pts != NOPTS else { return }
                guard let sound = try self.normalizedAudio(frame) else { return }
                sound.pts = pts - audioOffset
                try splicer?.add(sound, emit: onAudio)
            }
            if p == nil {
                try splicer?.finish(emit: onAudio)
                if let s = splicer, s.filledSeconds > 0.05 {
                    progressNote?(String(format: "%@: %.3f s of missing audio played as silence", path, s.filledSeconds))
                }
            }
        }

        // Audio read while looking for the decode start is held until the start is found: a
        // seek that landed wrong is retried, and its audio must not have gone out.
        let early = try syncTo(step.decode.lowerBound, firstPTS: plan.firstPTS, audioOffset: audioOffset)
        for p in early { try decodeAudio(p) }
        try feedVideo(packet)  // syncTo leaves the decode-start packet here
        videoLeft -= 1
        if videoLeft == 0 { try finishVideo() }
        reading: while true {
            switch reader.read(into: packet) {
            case .endOfFile: break reading
            case .damaged(let code):
                if videoLeft > 0 {
                    throw CutError(.truncated, path: path, detail: "read error before the range's end (\(MediaError(code: code, operation: "read").message))")
                }
                break reading
            case .packet: break
            }
            if packet.streamIndex == videoStream {
                guard videoLeft > 0 else { continue }
                try feedVideo(packet)
                videoLeft -= 1
                if videoLeft == 0 { try finishVideo() }
            } else if packet.streamIndex == audioStream {
                if packet.pts != NOPTS, packet.pts - audioOffset > audioEnd {
                    if videoLeft == 0 { break reading }
                    continue
                }
                try decodeAudio(packet)
            }
        }
        if videoLeft > 0 { try finishVideo() }
        try decodeAudio(nil)
        guard decodesVideo else { return plan.frameCount }
        if kept == 0 && plan.frameCount > 0 {
            throw CutError(.failed, path: path, detail: "no picture in the range can be decoded")
        }
        return kept
    }

    /// The picture at the first picture's size and format (the filter graphs were built for it).
    private func normalized(_ frame: Frame) throws -> Frame {
        let f = frame.pointer.pointee
        let size = firstSize
        guard size.0 > 0, Int(f.width) != size.0 || Int(f.height) != size.1 || f.format != size.2 else { return frame }
        if scaler == nil || scaler!.sourceWidth != Int(f.width) || scaler!.sourceHeight != Int(f.height) || scaler!.sourceFormat.rawValue != f.format {
            progressNote?("\(path): the picture changes to \(f.width)x\(f.height) at \(String(format: "%.3fs", index.timeBase.seconds(frame.bestEffortTimestamp - planner.origin))); scaled to \(size.0)x\(size.1)")
            scaler = try Scaler(sourceWidth: Int(f.width), sourceHeight: Int(f.height), sourceFormat: AVPixelFormat(rawValue: f.format),
                                width: size.0, height: size.1, format: AVPixelFormat(rawValue: size.2), flags: SWS_LANCZOS)
        }
        try scaler!.scale(frame, into: scaled)
        let out = Frame()
        try out.reference(scaled)
        return out
    }
    /// The size and format the stream declares (its first sequence): what the outputs were built for.
    private lazy var firstSize: (Int, Int, Int32) = {
        let par = demuxer.stream(videoStream).pointee.codecpar.pointee
        return (Int(par.width), Int(par.height), par.format)
    }()

    /// Audio at the decoder's first rate, format and layout (the audio graphs were built for it).
    private func normalizedAudio(_ frame: Frame) throws -> Frame? {
        try audioNormalizer?.normalize(frame)
    }

    /// Seeks before packet `first` (decode order) and reads up to it (the one reader's sync);
    /// returns the audio packets read on the way that may be needed (from about the range start on).
    private func syncTo(_ first: Int, firstPTS: Int64, audioOffset: Int64) throws -> [Packet] {
        let audioStart = audioTimeBase.map { TimeBase(1, 10).rescale(-1, to: $0) } ?? 0  // 0.1 s of pre-roll
        var held: [Packet] = []
        var checked = false
        try reader.sync(to: first, in: index, audioFrom: firstPTS, packet: packet, audio: { p, fromTop in
            let rel = p.pts == NOPTS ? nil : p.pts - audioOffset
            if !checked, let rel {
                checked = true
                if rel > audioStart && !fromTop { return .landedLate }  // after audio the range needs
            }
            if let rel, rel < 10 * audioStart { return .skip }  // long before the range
            let copy = Packet()
            try copy.reference(p)
            held.append(copy)
            return .take
        }, restart: {
            held.removeAll()
            checked = false
        }, path: path)
        return held
    }
}
