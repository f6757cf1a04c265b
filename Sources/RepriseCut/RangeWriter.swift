import CFFmpeg
import Foundation
import RepriseMedia

/// Writes one planned range into the output: one seek, one read through its packets,
/// copied packets passed through with shifted timestamps, edge packets decoded and re-encoded,
/// audio cut to the sample alongside.
final class RangeWriter {
    struct Stats { var frames = 0; var copied = 0; var encoded = 0 }

    let demuxer: Demuxer
    let muxer: Muxer
    let index: PacketIndex
    let packets: [IndexedPacket]
    let videoStream: Int
    let videoTimeBase: TimeBase
    let edge: EdgeEncoding?
    let adapter: BitstreamAdapter
    let audio: AudioLane?
    /// Serialises muxer writes between this thread (video) and the audio lane.
    let muxLock: NSLock
    let progress: ProgressReporter?
    let path: String
    let totalPackets: Int
    /// Source reorder delay: re-encoded packets (no B-frames) get dts = pts − delay so that
    /// DTS stays strictly increasing where they meet copied packets.
    let reorderDelay: Int64
    private var processed = 0
    private var lastVideoDTS = Int64.min
    private var lastWasReencoded = false
    private let packet = Packet()
    private let frame = Frame()
    private let outPacket = Packet()
    private var durations: [Int64: Int64] = [:]

    init(demuxer: Demuxer, muxer: Muxer, index: PacketIndex, videoStream: Int, edge: EdgeEncoding?,
         audio: AudioLane?, muxLock: NSLock, progress: ProgressReporter?, path: String, totalPackets: Int) {
        self.demuxer = demuxer; self.muxer = muxer; self.index = index; self.packets = index.packets
        self.videoStream = videoStream; self.videoTimeBase = index.timeBase; self.edge = edge
        self.audio = audio; self.muxLock = muxLock; self.progress = progress; self.path = path; self.totalPackets = max(totalPackets, 1)
        self.reorderDelay = index.reorderDelay
        self.adapter = BitstreamAdapter(source: demuxer.stream(videoStream), outputIsAnnexB: muxer.formatName == "mpegts")
    }

    /// A re-encoding in progress: its own decoder and encoder.
    final class Edge {
        let step: ReencodeStep
        let decoder: Decoder
        let encoder: Encoder
        init(step: ReencodeStep, decoder: Decoder, encoder: Encoder) { self.step = step; self.decoder = decoder; self.encoder = encoder }
    }

    /// A copied packet waiting for the head's re-encoded frames to be written first.
    struct PendingCopy { let packet: Packet; let keyframe: Bool; let relabel: Bool }

    func write(_ plan: PlannedRange) throws -> Stats {
        var stats = Stats()
        let span = plan.packetSpan
        let shift = plan.outputOffset - plan.firstPTS
        for i in span { durations[packets[i].pts + shift] = packets[i].duration }
        defer { durations.removeAll(keepingCapacity: true) }

        if let audio {
            let rate = TimeBase(1, Int32(audio.sampleRate))
            let s0 = videoTimeBase.rescale(plan.firstPTS, to: rate)
            let o0 = videoTimeBase.rescale(plan.outputOffset, to: rate)
            let o1 = videoTimeBase.rescale(plan.outputOffset + plan.duration, to: rate)
            audio.begin(start: s0, count: o1 - o0)
        }
        try seekAndSync(to: span.lowerBound, audioFrom: plan.firstPTS)

        var head: Edge? = nil, tail: Edge? = nil
        var pending: [PendingCopy] = []
        var next = span.lowerBound
        var havePacket = true  // seekAndSync leaves the first packet of the span in `packet`
        while true {
            if !havePacket {
                switch demuxer.read(into: packet) {
                case .packet: break
                case .endOfFile, .damaged:
                    if next < span.upperBound {
                        throw CutError(.truncated, path: path, detail: "ended before the packet the index expected at \(String(format: "%.3fs", videoTimeBase.seconds(packets[next].pts)))")
                    }
                    try audio?.finishRange()
                    return try check(stats, plan)
                }
            }
            havePacket = false
            if packet.streamIndex == videoStream {
                if next >= span.upperBound {
                    if audio == nil || audio!.isComplete { break }
                    continue
                }
                let expected = packets[next]
                if packet.pts != NOPTS && packet.pts != expected.pts {
                    throw CutError(.failed, path: path, detail: "packet order differs from the index (pts \(packet.pts), expected \(expected.pts)); delete \(PacketIndexer.cacheLocations(for: path)[0]) and retry")
                }
                // 1. The head decodes first (it may run through the copy's dropped leading pictures).
                if let step = plan.head, step.decode.contains(next) {
                    if next == step.decode.lowerBound { head = try openEdge(step) }
                    try decode(packet, edge: head!, shift: shift, stats: &stats)
                    if next == step.decode.upperBound - 1 {
                        try finish(head!, shift: shift, stats: &stats)
                        head = nil
                        // The head's frames are out: the copies held back behind them follow.
                        for c in pending {
                            try writeCopy(c)
                            pool.append(c.packet)
                        }
                        pending.removeAll(keepingCapacity: true)
                    }
                }
                // 2. The tail may need packets of the last copied GOP (leading pictures of the next CRA).
                if let step = plan.tail, step.decode.contains(next) {
                    if next == step.decode.lowerBound { tail = try openEdge(step) }
                    try decode(packet, edge: tail!, shift: shift, stats: &stats)
                }
                // 3. Copies wait while the head is still open, so decode times stay in order.
                if let copy = plan.copy, copy.packets.contains(next), !copy.dropped.contains(next) {
                    let target = head == nil ? packet : try takePooledPacket(referencing: packet)
                    target.pts = expected.pts + shift
                    target.dts = expected.dts + shift
                    if target.duration <= 0 { target.duration = expected.duration }
                    let item = PendingCopy(packet: target, keyframe: expected.isDecodeStart, relabel: copy.relabelAsBLA == next)
                    if head == nil { try writeCopy(item) } else { pending.append(item) }
                    stats.copied += 1
                    stats.frames += 1
                }
                if let step = plan.tail, next == step.decode.upperBound - 1, let t = tail {
                    try finish(t, shift: shift, stats: &stats)
                    tail = nil
                }
                next += 1
                processed += 1
                if processed % 64 == 0 { progress?.update(stage: "cutting", fraction: Double(processed) / Double(totalPackets)) }
            } else if let audio, packet.streamIndex == audio.sourceStream {
                try audio.feed(packet)
            }
            if next >= span.upperBound && (audio == nil || audio!.isComplete) { break }
        }
        try audio?.finishRange()
        return try check(stats, plan)
    }

    /// Packets reused for copies held back behind the head (no allocation per packet).
    private var pool: [Packet] = []
    private func takePooledPacket(referencing source: Packet) throws -> Packet {
        let p = pool.popLast() ?? Packet()
        try p.reference(source)
        return p
    }

    private func writeCopy(_ c: PendingCopy) throws {
        try adapter.copied(c.packet, keyframe: c.keyframe, afterReencoded: lastWasReencoded, relabelAsBLA: c.relabel)
        lastWasReencoded = false
        try writeVideo(c.packet)
    }

    private func check(_ stats: Stats, _ plan: PlannedRange) throws -> Stats {
        if stats.frames != plan.frameCount {
            throw CutError(.failed, path: path, detail: "wrote \(stats.frames) frames where \(plan.frameCount) were planned (the source may be damaged near \(String(format: "%.3fs", videoTimeBase.seconds(plan.firstPTS))))")
        }
        return stats
    }

    private func openEdge(_ step: ReencodeStep) throws -> Edge {
        guard let edge else { throw CutError(.failed, path: path, detail: "no edge encoder") }
        let decoder = try Decoder(parameters: demuxer.stream(videoStream).pointee.codecpar, timeBase: videoTimeBase)
        return Edge(step: step, decoder: decoder, encoder: try Encoder(video: edge.settings))
    }

    private func finish(_ e: Edge, shift: Int64, stats: inout Stats) throws {
        try decode(nil, edge: e, shift: shift, stats: &stats)
        try encode(nil, encoder: e.encoder)
    }

    /// Seeks before the range and reads until the packet the index names comes up, so a
    /// container seek that lands early (or late, then retried earlier) never shifts the cut.
    private func seekAndSync(to first: Int, audioFrom: Int64) throws {
        let target = packets[first]
        var margin = max(videoTimeBase.ticks(seconds: 1.5), 1)
        // MP4/MOV seek through their sample tables; other containers (MPEG-TS bisects, FLV often
        // has no index) go straight to a byte position the packet index recorded.
        let byteFormats = ["mpegts", "flv"]
        var byteSeekable = byteFormats.contains(demuxer.formatName)
        for attempt in 0..<5 {
            if attempt == 3 { byteSeekable = false }  // a byte seek that didn't find it: try timestamps
            let fileStart = packets[0].dts
            let wanted = min(target.dts, target.pts, audioFrom) - margin
            var ts = wanted
            if attempt == 4 || ts <= fileStart { ts = Int64.min }
            do {
                if byteSeekable, ts != Int64.min, let pos = position(before: first, presentedBy: wanted) {
                    try demuxer.seek(bytePosition: pos)
                } else if ts == Int64.min {
                    if byteFormats.contains(demuxer.formatName) { try demuxer.seek(bytePosition: 0) }
                    else { try demuxer.seekToStart() }
                } else {
                    try demuxer.seek(stream: videoStream, timestamp: ts)
                }
            } catch {
                // Some demuxers can't seek to a timestamp (FLV without an index): read from the top.
                guard ts == Int64.min || attempt >= 3 else { margin *= 4; continue }
                try demuxer.seek(bytePosition: 0)
            }
            var audioTooLate = false
            var checkedAudio = false
            var landed = true
            while true {
                switch demuxer.read(into: packet) {
                case .endOfFile, .damaged:
                    if attempt == 4 {
                        throw CutError(.truncated, path: path, detail: "could not read to \(String(format: "%.3fs", videoTimeBase.seconds(target.pts)))")
                    }
                    landed = false
                case .packet: break
                }
                if !landed { break }
                if let audio, packet.streamIndex == audio.sourceStream {
                    if !checkedAudio && packet.pts != NOPTS {
                        checkedAudio = true
                        // A seek that lands after the audio we need (when earlier audio exists) is retried earlier.
                        // AAC needs a frame of pre-roll: its first decoded frame lacks the overlap.
                        let first = audio.samplePosition(of: packet.pts)
                        if first > audio.windowStart - audio.preroll && first > audio.streamStart && ts != Int64.min { audioTooLate = true }
                    }
                    if !audioTooLate { try audio.feed(packet) }
                    continue
                }
                guard packet.streamIndex == videoStream else { continue }
                if packet.pts == target.pts && (packet.dts == target.dts || packet.dts == NOPTS) {
                    if audioTooLate { break }
                    return
                }
                if packet.dts != NOPTS && packet.dts > target.dts { break }  // landed late
                if packet.dts == NOPTS && packet.position > target.position && target.position >= 0 { break }
            }
            margin *= 4
            audio?.restartDecoding()
        }
        throw CutError(.failed, path: path, detail: "could not find the packet at \(String(format: "%.3fs", videoTimeBase.seconds(target.pts))) by seeking")
    }

    /// Byte position of the latest packet, at or before `first` in decode order, that is
    /// presented at or before `time` (so audio from there on is read too).
    private func position(before first: Int, presentedBy time: Int64) -> Int64? {
        var i = first
        while i > 0 && (packets[i].pts > time || packets[i].dts > time) { i -= 1 }
        let pos = packets[i].position
        return pos >= 0 ? pos : nil
    }

    private func decode(_ pkt: Packet?, edge e: Edge, shift: Int64, stats: inout Stats) throws {
        var pending = pkt
        var flushed = false
        while true {
            if let p = pending {
                if try e.decoder.send(p) != .needsMoreInput { pending = nil }
            } else if pkt == nil && !flushed {
                _ = try e.decoder.send(nil)
                flushed = true
            }
            while try e.decoder.receive(into: frame) == .ok {
                let pts = frame.bestEffortTimestamp
                guard e.step.keep.contains(pts) else { continue }
                frame.pts = pts + shift
                frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
                frame.pointer.pointee.key_frame = 0
                frame.pointer.pointee.pkt_duration = durations[frame.pts] ?? 0
                try encode(frame, encoder: e.encoder)
                stats.encoded += 1
                stats.frames += 1
            }
            if pending == nil { return }
        }
    }

    private func encode(_ f: Frame?, encoder: Encoder) throws {
        var needSend = true
        while needSend {
            let r = try encoder.send(f)
            needSend = r == .needsMoreInput
            while try encoder.receive(into: outPacket) == .ok {
                if edge?.family != .other {
                    try adapter.encoded(outPacket)
                    // Edges have no B-frames (dts = pts): place them before the copied run's decode times.
                    outPacket.dts = outPacket.pts - reorderDelay
                }  // else: a whole-range H.264 encode (with B-frames) keeps the encoder's own decode times
                if outPacket.duration <= 0 { outPacket.duration = durations[outPacket.pts] ?? 0 }
                try writeVideo(outPacket)
                lastWasReencoded = true
            }
            if f == nil { return }
        }
    }

    private func writeVideo(_ p: Packet) throws {
        if p.dts <= lastVideoDTS { p.dts = lastVideoDTS + 1 }
        if p.dts > p.pts {
            throw CutError(.failed, path: path, detail: "could not keep decode times increasing at output \(String(format: "%.3fs", videoTimeBase.seconds(p.pts)))")
        }
        lastVideoDTS = p.dts
        p.pointer.pointee.stream_index = 0
        p.pointer.pointee.pos = -1
        p.rescale(from: videoTimeBase, to: muxer.timeBase(of: 0))
        muxLock.lock(); defer { muxLock.unlock() }
        try muxer.write(p)
    }

}
