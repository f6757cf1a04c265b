import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// The measure half of "measure, then apply": one audio-only read of the range (video packets
/// are skipped by the demuxer, so it costs a fraction of the transcode) through libavfilter's
/// `ebur128`, once per distinct (channels, duration) the outputs need.
enum LoudnessPrepass {
    struct Key: Hashable { var channels: Int; var duration: Double }

    /// - Parameter start: the range start in the audio stream's time base.
    /// - Parameter index: the recording's packet index: audio is read on its closed-up timeline.
    static func measure(path: String, index: PacketIndex, audioStream: Int, start: Int64, keys: Set<Key>) throws -> [Key: Loudness] {
        guard !keys.isEmpty else { return [:] }
        let demuxer = try Demuxer(path: path)
        let reader = RecordingReader(demuxer: demuxer, index: index, audioStream: audioStream)
        demuxer.keepOnly([audioStream])
        let st = demuxer.stream(audioStream)
        let base = TimeBase(st.pointee.time_base)
        let decoder = try Decoder(parameters: st.pointee.codecpar, timeBase: base, threads: 1)
        let ctx = decoder.context
        var input = FilterGraph.AudioInput(sampleRate: Int(ctx.pointee.sample_rate), sampleFormat: ctx.pointee.sample_fmt.rawValue,
                                           channels: Int(ctx.pointee.ch_layout.nb_channels), timeBase: base)
        if input.channels == 0 { input.channels = 2 }
        let ordered = Array(keys)
        let graphs = try ordered.map {
            try FilterGraph(audio: input, description: AudioRender.leadIn(duration: $0.duration, channels: $0.channels) + "," + AudioRender.meter)
        }
        var readings = [LoudnessReading](repeating: LoudnessReading(), count: ordered.count)
        let longest = ordered.map(\.duration).max() ?? 0
        let end = base.ticks(seconds: longest + 0.5)
        // (Container times of a recording with resets aren't ours: such a file is read from the top.)
        if start > base.ticks(seconds: 2), reader.map.isIdentity {
            try? reader.seek(stream: audioStream, timestamp: start - base.ticks(seconds: 1))
        }
        let normalizer = AudioNormalizer(decoder: decoder)
        let packet = Packet(), frame = Frame(), out = Frame()
        func drain(_ n: Int) throws {
            while try graphs[n].receive(into: out) == .ok { readings[n].read(out.pointer) }
        }
        func decode(_ p: Packet?) throws {
            try decoder.decode(p, into: frame) { frame in
                let pts = frame.bestEffortTimestamp
                guard pts != NOPTS else { return }
                frame.pts = pts
                guard let sound = try normalizer.normalize(frame) else { return }
                sound.pts = pts - start
                for n in graphs.indices { try graphs[n].send(sound); try drain(n) }
            }
        }
        reading: while true {
            switch reader.read(into: packet) {
            case .endOfFile, .damaged: break reading
            case .packet: break
            }
            guard packet.streamIndex == audioStream else { continue }
            if packet.pts != NOPTS, packet.pts - start > end { break }
            try decode(packet)
        }
        try decode(nil)
        var result: [Key: Loudness] = [:]
        for n in graphs.indices {
            try graphs[n].send(nil)
            try drain(n)
            result[ordered[n]] = readings[n].loudness
        }
        return result
    }
}
