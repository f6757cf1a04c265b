import CFFmpeg
import Foundation
import RepriseMedia

/// Writes one planned range into the output: one seek, one read through its packets,
/// copied packets passed through with shifted timestamps, edge packets decoded and re-encoded,
/// audio cut to the sample alongside.
final class RangeWriter {
    struct Stats { var frames = 0; var copied = 0; var encoded = 0 }

    let demuxer: Demuxer
    /// Reads on the closed-up timeline (timestamp resets closed, runs laid end to end).
    let reader: RecordingReader
    let planner: CutPlanner
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
    /// Decode times for the whole output, one delay throughout (see `OutputClock`).
    private var clock: OutputClock
    private var processed = 0
    private var lastVideoDTS = Int64.min
    /// Frames of another size (a run after a reconnect) are scaled to the output's.
    private var scaler: Scaler? = nil
    private let scaled = Frame()
    private var lastWasReencoded = false
    private let packet = Packet()
    private let frame = Frame()
    private let outPacket = Packet()
    private var durations: [Int64: Int64] = [:]

    init(demuxer: Demuxer, muxer: Muxer, index: PacketIndex, planner: CutPlanner, videoStream: Int, edge: EdgeEncoding?,
         audio: AudioLane?, muxLock: NSLock, progress: ProgressReporter?, path: String, totalPackets: Int, clock: OutputClock) {
        self.demuxer = demuxer; self.muxer = muxer; self.index = index; self.packets = index.packets
        self.planner = planner
        self.reader = RecordingReader(demuxer: demuxer, index: index, audioStream: audio?.sourceStream)
        self.videoStream = videoStream; self.videoTimeBase = index.timeBase; self.edge = edge
        self.audio = audio; self.muxLock = muxLock; self.progress = progress; self.path = path; self.totalPackets = max(totalPackets, 1)
        self.clock = clock
        self.adapter = BitstreamAdapter(source: demuxer.stream(videoStream), outputIsAnnexB: muxer.formatName == "mpegts")
    }

    /// A re-encoding in progress: its own decoder and encoder.
    final class Edge {
        let step: ReencodeStep
        let decoder: Decoder
        let encoder: Encoder
        var schedule: FrameSchedule
        /// The last picture encoded, repeated into slots a damaged packet left empty.
        let last = Frame()
        var hasLast = false
        init(step: ReencodeStep, decoder: Decoder, encoder: Encoder, schedule: FrameSchedule) {
            self.step = step; self.decoder = decoder; self.encoder = encoder; self.schedule = schedule
        }
    }

    /// A copied packet waiting for the head's re-encoded frames to be written first.
    struct PendingCopy { let packet: Packet; let keyframe: Bool; let relabel: Bool; let startsRun: Bool }

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
                switch reader.read(into: packet) {
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
                    throw CutError(.failed, path: path, detail: "packet order differs from the index (pts \(packet.pts), expected \(expected.pts)); delete \(PacketIndexer.cacheLocations(for: path).first ?? "its index cache") and retry")
                }
                // Packets that refer to pictures the recording lacks (it began mid-GOP) are never decoded.
                let decodable = !expected.isUndecodable
                // 1. The head decodes first (it may run through the copy's dropped leading pictures).
                if let step = plan.head, step.decode.contains(next) {
                    if next == step.decode.lowerBound { head = try openEdge(step) }
                    if decodable { try decode(packet, edge: head!, shift: shift, stats: &stats) }
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
                    if decodable { try decode(packet, edge: tail!, shift: shift, stats: &stats) }
                }
                // 3. Copies wait while the head is still open, so decode times stay in order.
                if let copy = plan.copy, copy.packets.contains(next), !copy.dropped.contains(next) {
                    let target = head == nil ? packet : try takePooledPacket(referencing: packet)
                    target.pts = expected.pts + shift
                    target.dts = expected.dts + shift
                    if target.duration <= 0 { target.duration = expected.duration }
                    let item = PendingCopy(packet: target, keyframe: expected.isDecodeStart, relabel: copy.relabelAsBLA == next,
                                           startsRun: copy.packets.lowerBound == next)
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
        try adapter.copied(c.packet, keyframe: c.keyframe, afterReencoded: lastWasReencoded, relabelAsBLA: c.relabel,
                           startsRun: c.startsRun)
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
        // A run after a reconnect may carry its own sequence header: decode it with that one.
        let sets = planner.runs[planner.run(ofPacket: step.decode.lowerBound)].parameterSets
        let extradata = sets > 0 && sets < index.header.parameterSets.count ? index.header.parameterSets[sets] : nil
        let decoder = try Decoder(parameters: demuxer.stream(videoStream).pointee.codecpar, timeBase: videoTimeBase,
                                  extradata: extradata)
        return Edge(step: step, decoder: decoder, encoder: try Encoder(video: edge.settings),
                    schedule: FrameSchedule(planner: planner, keep: step.keep))
    }

    private func finish(_ e: Edge, shift: Int64, stats: inout Stats) throws {
        try decode(nil, edge: e, shift: shift, stats: &stats)
        let rest = e.schedule.rest()
        if !rest.isEmpty {
            guard e.hasLast else {
                throw CutError(.failed, path: path, detail: "no picture from \(planner.fmt(e.step.keep.lowerBound)) to \(planner.fmt(e.step.keep.upperBound)) can be decoded")
            }
            for t in rest { try encodeRepeat(of: e, at: t, shift: shift, stats: &stats) }
        }
        if e.schedule.filled > 0 {
            progress?.note("\(path): \(e.schedule.filled) damaged frame(s) near \(planner.fmt(e.step.keep.lowerBound)) shown as the picture before them")
        }
        try encode(nil, encoder: e.encoder)
    }

    /// Encodes the edge's last picture again at `t` (a slot its damaged packet left empty).
    private func encodeRepeat(of e: Edge, at t: Int64, shift: Int64, stats: inout Stats) throws {
        let again = Frame()
        try again.reference(e.last)
        again.pts = t + shift
        again.pointer.pointee.pkt_duration = durations[again.pts] ?? 0
        try encode(again, encoder: e.encoder)
        stats.encoded += 1
        stats.frames += 1
    }

    /// Seeks before the range and reads up to its first packet (the one reader's sync), feeding
    /// the audio lane the audio it meets from about the range start on.
    private func seekAndSync(to first: Int, audioFrom: Int64) throws {
        var checkedAudio = false
        try reader.sync(to: first, in: index, audioFrom: audioFrom, packet: packet, audio: { [audio] p, fromTop in
            guard let audio else { return .skip }
            if !checkedAudio && p.pts != NOPTS {
                checkedAudio = true
                // Landed after the audio we need (when earlier audio exists)? AAC needs a frame of
                // pre-roll: its first decoded frame lacks the overlap.
                let start = audio.samplePosition(of: p.pts)
                if start > audio.windowStart - audio.preroll && start > audio.streamStart && !fromTop { return .landedLate }
            }
            try audio.feed(p)
            return .take
        }, restart: { [audio] in
            checkedAudio = false
            audio?.restartDecoding()
        }, path: path)
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
                let (missed, deliver) = e.schedule.admit(pts)
                guard deliver || !missed.isEmpty else { continue }
                frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
                frame.pointer.pointee.key_frame = 0
                let picture = try fitted(frame, to: e.encoder)
                // Slots a damaged packet left empty show the picture before them (or, at the
                // step's start, the first one decoded).
                if !e.hasLast { try e.last.reference(picture); e.hasLast = true }
                for t in missed { try encodeRepeat(of: e, at: t, shift: shift, stats: &stats) }
                guard deliver else { continue }
                picture.pts = pts + shift
                picture.pointer.pointee.pkt_duration = durations[picture.pts] ?? 0
                try e.last.reference(picture)
                try encode(picture, encoder: e.encoder)
                stats.encoded += 1
                stats.frames += 1
            }
            if pending == nil { return }
        }
    }

    private func encode(_ f: Frame?, encoder: Encoder) throws {
        try encoder.encode(f, into: outPacket) { packet in
            if edge?.family != .other { try adapter.encoded(packet) }
            if packet.duration <= 0 { packet.duration = durations[packet.pts] ?? 0 }
            try writeVideo(packet)
            lastWasReencoded = true
        }
    }

    /// The frame at the encoder's size: a run of another picture size is scaled (noted once).
    private func fitted(_ frame: Frame, to encoder: Encoder) throws -> Frame {
        let w = Int(encoder.context.pointee.width), h = Int(encoder.context.pointee.height)
        let f = frame.pointer.pointee
        guard Int(f.width) != w || Int(f.height) != h || f.format != encoder.context.pointee.pix_fmt.rawValue else { return frame }
        if scaler == nil || scaler!.sourceWidth != Int(f.width) || scaler!.sourceHeight != Int(f.height) || scaler!.sourceFormat.rawValue != f.format {
            progress?.note("\(path): the picture is \(f.width)x\(f.height) from \(planner.fmt(frame.bestEffortTimestamp)); scaled to the output's \(w)x\(h)")
            scaler = try Scaler(sourceWidth: Int(f.width), sourceHeight: Int(f.height), sourceFormat: AVPixelFormat(rawValue: f.format),
                                width: w, height: h, format: encoder.context.pointee.pix_fmt, flags: SWS_LANCZOS)
        }
        try scaler!.scale(frame, into: scaled)
        return scaled
    }

    private func writeVideo(_ p: Packet) throws {
        p.dts = clock.next()
        if p.dts <= lastVideoDTS || p.dts > p.pts {
            throw CutError(.failed, path: path, detail: "internal: output decode times out of order at \(String(format: "%.3fs", videoTimeBase.seconds(p.pts)))")
        }
        lastVideoDTS = p.dts
        p.pointer.pointee.stream_index = 0
        p.pointer.pointee.pos = -1
        p.rescale(from: videoTimeBase, to: muxer.timeBase(of: 0))
        muxLock.lock(); defer { muxLock.unlock() }
        try muxer.write(p)
    }

}
