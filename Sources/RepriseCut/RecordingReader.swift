import RepriseMedia

/// Reads a recording's packets on the closed-up timeline: the one read path of the cutter, the
/// transcoder and the analysis. Wraps the demuxer; everything it hands out is already mapped.
public final class RecordingReader {
    public let demuxer: Demuxer
    public let map: TimelineMap
    public let videoStream: Int
    public let audioStream: Int?
    public let audioTimeBase: TimeBase?
    private var lastPosition: Int64 = -1

    public init(demuxer: Demuxer, index: PacketIndex, audioStream: Int?) {
        self.demuxer = demuxer
        map = TimelineMap(index: index)
        videoStream = index.header.streamIndex
        self.audioStream = audioStream
        audioTimeBase = audioStream.map { TimeBase(demuxer.stream($0).pointee.time_base) }
    }

    /// The next packet, its times on the closed-up timeline.
    public func read(into packet: Packet) -> ReadResult {
        let r = demuxer.read(into: packet)
        if case .packet = r {
            map.close(packet, videoStream: videoStream, audioStream: audioStream, audioTimeBase: audioTimeBase,
                      lastPosition: &lastPosition)
        }
        return r
    }

    /// What to do with an audio packet met while syncing.
    public enum AudioVerdict { case take, skip, landedLate }

    /// Seeks before packet `first` of `index` (decode order) so that audio from `audioFrom`
    /// (video time base, closed-up) on is read too, and reads up to that packet, which is left in
    /// `packet`. Audio packets met on the way go to `audio` (told whether the read began at the
    /// top); `.landedLate` means the seek landed after audio the caller needs: `restart` is called
    /// and the seek is tried earlier. A container seek that lands early (or late, then retried
    /// earlier) never shifts a cut: the packet is found by its index entry, not by where the seek went.
    public func sync(to first: Int, in index: PacketIndex, audioFrom: Int64, packet: Packet,
                     audio: (Packet, _ fromTop: Bool) throws -> AudioVerdict, restart: () throws -> Void,
                     path: String) throws {
        let packets = index.packets
        let target = packets[first]
        let base = index.timeBase
        var margin = max(base.ticks(seconds: 1.5), 1)
        // MP4/MOV seek through their sample tables; MPEG-TS (which bisects) and FLV (often without
        // a seek index) go straight to a byte position the index recorded. Container timestamps of
        // a recording with resets aren't ours: such a file is only sought by bytes, or read from the top.
        let byBytes = ["mpegts", "flv"].contains(demuxer.formatName)
        let attempts = 5
        for attempt in 0..<attempts {
            let wanted = min(target.dts, target.pts, audioFrom) - margin
            let fromTop = first == 0 || attempt == attempts - 1 || wanted <= packets[0].dts
                || (!map.isIdentity && !byBytes) || (byBytes && attempt == attempts - 2 && !map.isIdentity)
            do {
                if fromTop {
                    if byBytes { try seek(bytePosition: 0) } else { try seekToStart() }
                } else if byBytes && attempt < attempts - 2, let pos = position(in: packets, before: first, presentedBy: wanted) {
                    try seek(bytePosition: pos)
                } else {
                    try seek(stream: videoStream, timestamp: wanted)
                }
            } catch {
                // Some demuxers can't seek to a timestamp (FLV without an index): try again, then the top.
                try restart()
                margin *= 4
                continue
            }
            var retry = false
            scan: while true {
                switch read(into: packet) {
                case .endOfFile, .damaged:
                    if attempt == attempts - 1 {
                        throw CutError(.truncated, path: path, detail: "could not read to \(String(format: "%.3fs", base.seconds(target.pts)))")
                    }
                    retry = true
                    break scan
                case .packet: break
                }
                if packet.streamIndex == audioStream {
                    if try audio(packet, fromTop) == .landedLate && !fromTop { retry = true; break scan }
                    continue
                }
                guard packet.streamIndex == videoStream else { continue }
                if packet.pts == target.pts && (packet.dts == target.dts || packet.dts == NOPTS) { return }
                if packet.dts != NOPTS && packet.dts > target.dts && target.isTimed { retry = true; break scan }  // landed late
                if packet.dts == NOPTS, target.position >= 0, packet.position > target.position { retry = true; break scan }
            }
            if retry { try restart(); margin *= 4 }
        }
        throw CutError(.failed, path: path, detail: "could not find the packet at \(String(format: "%.3fs", base.seconds(target.pts))) by seeking")
    }

    /// Byte position of the latest packet, at or before `first` in decode order, that is
    /// presented at or before `time` (so audio from there on is read too).
    private func position(in packets: [IndexedPacket], before first: Int, presentedBy time: Int64) -> Int64? {
        var i = first
        while i > 0 && (packets[i].pts > time || packets[i].dts > time) { i -= 1 }
        let pos = packets[i].position
        return pos >= 0 ? pos : nil
    }

    public func seek(bytePosition: Int64) throws { lastPosition = -1; try demuxer.seek(bytePosition: bytePosition) }
    public func seekToStart() throws { lastPosition = -1; try demuxer.seekToStart() }
    public func seek(stream: Int, timestamp: Int64) throws { lastPosition = -1; try demuxer.seek(stream: stream, timestamp: timestamp) }
}
