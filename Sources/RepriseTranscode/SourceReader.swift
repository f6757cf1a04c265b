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
    let index: PacketIndex
    let videoStream: Int
    let audioStream: Int?
    let path: String
    private let videoDecoder: Decoder
    private let audioDecoder: Decoder?
    private let packet = Packet()
    private let frame = Frame()

    init(demuxer: Demuxer, index: PacketIndex, videoStream: Int, audioStream: Int?, path: String) throws {
        self.demuxer = demuxer; self.index = index; self.videoStream = videoStream; self.path = path
        let v = demuxer.stream(videoStream)
        videoDecoder = try Decoder(parameters: v.pointee.codecpar, timeBase: TimeBase(v.pointee.time_base))
        if let a = audioStream {
            let s = demuxer.stream(a)
            audioDecoder = try? Decoder(parameters: s.pointee.codecpar, timeBase: TimeBase(s.pointee.time_base), threads: 1)
        } else {
            audioDecoder = nil
        }
        self.audioStream = audioDecoder == nil ? nil : audioStream
        demuxer.keepOnly(Set([videoStream] + (self.audioStream.map { [$0] } ?? [])))
    }

    var videoContext: UnsafeMutablePointer<AVCodecContext> { videoDecoder.context }
    var audioContext: UnsafeMutablePointer<AVCodecContext>? { audioDecoder?.context }
    var audioTimeBase: TimeBase? { audioStream.map { TimeBase(demuxer.stream($0).pointee.time_base) } }

    /// Reads `plan` (an exact-mode plan: one re-encode step). Returns the frames handed on.
    /// - Parameter audioEnd: audio is read until this presentation time (relative, audio time base).
    func read(_ plan: PlannedRange, audioEnd: Int64,
              video onVideo: (Frame) throws -> Void, audio onAudio: (Frame) throws -> Void,
              progress: (Double) -> Void) throws -> Int {
        guard let step = plan.head else { throw CutError(.failed, path: path, detail: "internal: the plan has no decode step") }
        let videoBase = index.timeBase
        let audioOffset = audioTimeBase.map { videoBase.rescale(plan.firstPTS, to: $0) } ?? 0
        var kept = 0
        var videoLeft = step.decode.count

        func decodeVideo(_ p: Packet?) throws {
            try videoDecoder.decode(p, into: frame) { frame in
                let pts = frame.bestEffortTimestamp
                guard step.keep.contains(pts) else { return }
                frame.pts = pts - plan.firstPTS
                kept += 1
                try onVideo(frame)
                if kept % 8 == 0 { progress(Double(kept) / Double(max(plan.frameCount, 1))) }
            }
        }
        func decodeAudio(_ p: Packet?) throws {
            try audioDecoder?.decode(p, into: frame) { frame in
                let pts = frame.bestEffortTimestamp
                guard pts != NOPTS else { return }
                frame.pts = pts - audioOffset
                try onAudio(frame)
            }
        }

        // Audio read while looking for the decode start is held until the start is found: a
        // seek that landed wrong is retried, and its audio must not have gone out.
        let early = try syncTo(step.decode.lowerBound, firstPTS: plan.firstPTS, audioOffset: audioOffset)
        for p in early { try decodeAudio(p) }
        try decodeVideo(packet)  // syncTo leaves the decode-start packet here
        videoLeft -= 1
        if videoLeft == 0 { try decodeVideo(nil) }
        reading: while true {
            switch demuxer.read(into: packet) {
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
                try decodeVideo(packet)
                videoLeft -= 1
                if videoLeft == 0 { try decodeVideo(nil) }
            } else if packet.streamIndex == audioStream {
                if packet.pts != NOPTS, packet.pts - audioOffset > audioEnd {
                    if videoLeft == 0 { break reading }
                    continue
                }
                try decodeAudio(packet)
            }
        }
        if videoLeft > 0 { try decodeVideo(nil) }
        try decodeAudio(nil)
        return kept
    }

    /// Seeks before packet `first` (decode order) and reads up to it; returns the audio packets
    /// read on the way that may be needed (from about the range start on).
    private func syncTo(_ first: Int, firstPTS: Int64, audioOffset: Int64) throws -> [Packet] {
        let packets = index.packets
        let target = packets[first]
        let base = index.timeBase
        var margin = max(base.ticks(seconds: 1.5), 1)
        let byteFormats = ["mpegts", "flv"]
        let audioStart = audioTimeBase.map { TimeBase(1, 10).rescale(-1, to: $0) } ?? 0  // 0.1 s of pre-roll
        for attempt in 0..<4 {
            let wanted = min(target.dts, target.pts, firstPTS) - margin
            let fromTop = first == 0 || attempt == 3 || wanted <= packets[0].dts
            if fromTop {
                if byteFormats.contains(demuxer.formatName) { try demuxer.seek(bytePosition: 0) } else { try demuxer.seekToStart() }
            } else if byteFormats.contains(demuxer.formatName), let pos = position(before: first, presentedBy: wanted) {
                try demuxer.seek(bytePosition: pos)
            } else {
                do { try demuxer.seek(stream: videoStream, timestamp: wanted) } catch { margin *= 4; continue }
            }
            var held: [Packet] = []
            var firstAudioChecked = false
            var retry = false
            scan: while true {
                switch demuxer.read(into: packet) {
                case .endOfFile, .damaged:
                    retry = true
                    break scan
                case .packet: break
                }
                if packet.streamIndex == audioStream {
                    let rel = packet.pts == NOPTS ? nil : packet.pts - audioOffset
                    if !firstAudioChecked, let rel {
                        firstAudioChecked = true
                        // Landed after audio the range needs (and earlier audio exists): seek earlier.
                        if rel > audioStart && !fromTop { retry = true; break scan }
                    }
                    if let rel, rel < 10 * audioStart { continue }  // long before the range
                    let copy = Packet()
                    try copy.reference(packet)
                    held.append(copy)
                    continue
                }
                guard packet.streamIndex == videoStream else { continue }
                if packet.pts == target.pts && (packet.dts == target.dts || packet.dts == NOPTS) { return held }
                if packet.dts != NOPTS && packet.dts > target.dts { retry = true; break scan }
                if packet.dts == NOPTS, target.position >= 0, packet.position > target.position { retry = true; break scan }
            }
            if retry { margin *= 4 }
        }
        throw CutError(.failed, path: path, detail: "could not find the frame at \(String(format: "%.3fs", base.seconds(target.pts))) by seeking")
    }

    /// Byte position of the latest packet, at or before `first` in decode order, that is
    /// presented at or before `time` (so audio from there on is read too).
    private func position(before first: Int, presentedBy time: Int64) -> Int64? {
        let packets = index.packets
        var i = first
        while i > 0 && (packets[i].pts > time || packets[i].dts > time) { i -= 1 }
        let pos = packets[i].position
        return pos >= 0 ? pos : nil
    }
}
