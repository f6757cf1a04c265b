import CFFmpeg
import Foundation
import RepriseCut
import RepriseMedia

/// The signals a recording carries itself, for when there is no data file and to sharpen the
/// ones there are: loudness per second (libavfilter's `ebur128`, momentary), pauses in speech,
/// and scene changes (`scdet` on the keyframes — only keyframes are decoded, so a 3-hour
/// recording is analysed in well under its length, and cuts found this way are where a smart cut
/// is cheapest anyway).
public enum RecordingAnalysis {
    public struct Result: Sendable {
        public var series: SignalSeries
        public var duration: Double
        public var keyframes: [Double]
    }

    /// - Parameter progress: fraction read, 0…1.
    public static func analyse(path: String, progress: ((Double) -> Void)? = nil) throws -> Result {
        let demuxer = try Demuxer(path: path)
        guard let v = demuxer.bestVideoStream else { throw MediaError("analyse", message: "\(path): no video stream") }
        let a = demuxer.bestAudioStream
        // Read on the closed-up timeline: a reset or a reconnect doesn't fold later times back.
        let index = try PacketIndexer.index(path: path, demuxer: demuxer, videoStream: v)
        let reader = RecordingReader(demuxer: demuxer, index: index, audioStream: a)
        demuxer.keepOnly(Set([v] + (a.map { [$0] } ?? [])))
        let start = Double(demuxer.startTimeMicros) / 1_000_000
        let duration = CutPlanner(index: index, path: path).durationSeconds
        // The container's duration is a first guess (live FLV/TS often lack one): the series grow
        // to the last timestamp read.
        var seconds = max(1, Int(duration.rounded(.up)))
        var loudness = [Double](repeating: -70, count: seconds)
        var scene = [Double](repeating: 0, count: seconds)
        var lastTime = duration
        func bin(_ t: Double) -> Int {
            let i = max(0, Int(t))
            lastTime = max(lastTime, t)
            if i >= seconds {
                let more = i + 1 - seconds
                loudness += [Double](repeating: -70, count: more)
                scene += [Double](repeating: 0, count: more)
                seconds = i + 1
            }
            return i
        }
        var cuts: [Double] = [], keyframes: [Double] = []
        var quiet: [(Double, Bool)] = []  // (time, below the pause threshold) per 100 ms reading

        let vst = demuxer.stream(v)
        let vbase = TimeBase(vst.pointee.time_base)
        let video = try Decoder(parameters: vst.pointee.codecpar, timeBase: vbase, threads: 1)
        video.context.pointee.skip_frame = AVDISCARD_NONKEY
        let vin = FilterGraph.VideoInput(width: Int(video.context.pointee.width), height: Int(video.context.pointee.height),
                                         pixelFormat: video.context.pointee.pix_fmt.rawValue, timeBase: vbase)
        let sceneGraph = try FilterGraph(video: vin, description: "scale=160:-2,format=yuv420p,scdet=threshold=12")

        var audio: Decoder? = nil, meter: FilterGraph? = nil, abase = TimeBase(1, 48000)
        if let a {
            let ast = demuxer.stream(a)
            abase = TimeBase(ast.pointee.time_base)
            if let d = try? Decoder(parameters: ast.pointee.codecpar, timeBase: abase, threads: 1) {
                let ain = FilterGraph.AudioInput(sampleRate: Int(d.context.pointee.sample_rate), sampleFormat: d.context.pointee.sample_fmt.rawValue,
                                                 channels: max(1, Int(d.context.pointee.ch_layout.nb_channels)), timeBase: abase)
                meter = try FilterGraph(audio: ain, description: "aformat=channel_layouts=mono,ebur128=metadata=1")
                audio = d
            }
        }

        let packet = Packet(), frame = Frame(), out = Frame()
        func readScene() throws {
            while try sceneGraph.receive(into: out) == .ok {
                let t = sceneGraph.outputTimeBase.seconds(out.pts) - start
                keyframes.append(t)
                // scdet's score is a change in difference: the first two pictures have no earlier
                // difference to compare with, and score as if the whole scene changed.
                guard keyframes.count > 2, let md = out.pointer.pointee.metadata else { continue }
                let i = bin(t)
                if let s = av_dict_get(md, "lavfi.scd.score", nil, 0).flatMap({ Double(String(cString: $0.pointee.value)) }) {
                    scene[i] = max(scene[i], s)
                }
                if av_dict_get(md, "lavfi.scd.time", nil, 0) != nil { cuts.append(t) }
            }
        }
        func readLoudness() throws {
            guard let meter else { return }
            while try meter.receive(into: out) == .ok {
                guard let md = out.pointer.pointee.metadata,
                      var m = av_dict_get(md, "lavfi.r128.M", nil, 0).flatMap({ Double(String(cString: $0.pointee.value)) }) else { continue }
                // Digital silence measures as NaN (or -inf): it is the quietest there is.
                if !m.isFinite { m = -70 }
                // ebur128 times its readings in samples (1/rate), not in the stream's time base (FLV: 1/1000).
                let t = meter.outputTimeBase.seconds(out.pts) - start
                let i = bin(t)
                loudness[i] = max(loudness[i], max(-70, m))
                quiet.append((t, m < -45))
            }
        }
        func decodeVideo(_ p: Packet?) throws {
            try video.decode(p, into: frame) { frame in
                frame.pts = frame.bestEffortTimestamp
                try sceneGraph.send(frame)
                try readScene()
            }
        }
        var meterInput = meter.map { _ in audio.map { ($0.context.pointee.sample_rate, $0.context.pointee.sample_fmt.rawValue,
                                                         $0.context.pointee.ch_layout.nb_channels) } } ?? nil
        func decodeAudio(_ p: Packet?) throws {
            guard let audio, meter != nil else { return }
            try audio.decode(p, into: frame) { frame in
                frame.pts = frame.bestEffortTimestamp
                // A run after a reconnect may bring another rate or layout: a meter for it takes over.
                let f = frame.pointer.pointee
                let input = (f.sample_rate, f.format, f.ch_layout.nb_channels)
                if let current = meterInput, current != input {
                    try meter!.send(nil); try readLoudness()
                    meter = try FilterGraph(audio: FilterGraph.AudioInput(sampleRate: Int(f.sample_rate), sampleFormat: f.format,
                                                                          channels: max(1, Int(f.ch_layout.nb_channels)), timeBase: abase),
                                            description: "aformat=channel_layouts=mono,ebur128=metadata=1")
                    meterInput = input
                }
                try meter!.send(frame)
                try readLoudness()
            }
        }

        let size = max(1, demuxer.fileSize)
        var count = 0
        reading: while true {
            switch reader.read(into: packet) {
            case .endOfFile, .damaged: break reading
            case .packet: break
            }
            if packet.streamIndex == v {
                if packet.isKey { try decodeVideo(packet) }
            } else if packet.streamIndex == a {
                try decodeAudio(packet)
            }
            count += 1
            if count % 500 == 0, packet.position > 0 { progress?(Double(packet.position) / Double(size)) }
        }
        try decodeVideo(nil)
        try decodeAudio(nil)
        try sceneGraph.send(nil); try readScene()
        if let meter { try meter.send(nil); try readLoudness() }

        let total = max(duration, lastTime)
        var series = SignalSeries(seconds: seconds)
        series.loudness = audio == nil ? nil : loudness
        series.scene = scene
        series.sceneCuts = cuts
        series.pauses = pauses(quiet)
        return Result(series: series, duration: total, keyframes: keyframes.sorted())
    }

    /// Middles of quiet stretches at least 0.3 s long: where a cut doesn't clip a word.
    static func pauses(_ readings: [(Double, Bool)]) -> [Double] {
        var out: [Double] = []
        var runStart: Double? = nil
        var last = 0.0
        for (t, isQuiet) in readings {
            if isQuiet { if runStart == nil { runStart = t } } else if let s = runStart {
                if last - s >= 0.3 { out.append((s + last) / 2) }
                runStart = nil
            }
            last = t
        }
        if let s = runStart, last - s >= 0.3 { out.append((s + last) / 2) }
        return out
    }
}
