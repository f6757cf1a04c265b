import CFFmpeg
import Foundation
import RepriseMedia

/// What `reprise probe` reports about a recording.
public struct ProbeReport: Codable, Sendable {
    public struct Stream: Codable, Sendable {
        public var index: Int
        public var type: String
        public var codec: String
        public var profile: String?
        public var level: Int?
        public var width: Int?
        public var height: Int?
        public var pixelFormat: String?
        public var rotation: Double?
        public var frameRate: Double?
        public var isVFR: Bool?
        public var sampleRate: Int?
        public var channels: Int?
        public var bitRate: Int64?
        /// Video colour as the stream is tagged ("unknown" where it isn't), names as ffprobe writes them.
        public var colorPrimaries: String?
        public var colorTransfer: String?
        public var colorMatrix: String?
        public var colorRange: String?
        public var bitDepth: Int?
        /// "PQ" or "HLG" for an HDR transfer.
        public var hdr: String?
    }
    public struct Interval: Codable, Sendable { public var min: Double; public var median: Double; public var max: Double }
    public var file: String
    public var container: String
    public var duration: Double
    public var startTime: Double
    public var size: Int64
    public var streams: [Stream]
    public var frames: Int
    public var keyframes: Int
    public var keyframeInterval: Interval?
    public var openGOP: Bool
    public var damagedTailAt: Double?
    public var damage: String?
    /// Where the timestamps jumped (closed up, so positions run on) and where parameters changed.
    public var discontinuities: [Discontinuity] = []
    /// Frames at the start (or after a restart) that refer to pictures the file doesn't hold.
    public var undecodableFrames: [UndecodableSpan] = []
    public var audioGaps: [AudioGap] = []
    public var damagedSpans: [DamagedSpan] = []

    public struct Discontinuity: Codable, Sendable {
        /// Position in the recording (closed-up seconds) where the new run begins.
        public var position: Double
        public var kind: String
        /// The raw timestamp jump in seconds (0 for a parameter change).
        public var jump: Double
        /// Whether the parameter sets (SPS/PPS, sequence header) changed here.
        public var parametersChanged: Bool
    }
    public struct UndecodableSpan: Codable, Sendable {
        public var position: Double
        public var frames: Int
    }

    enum CodingKeys: String, CodingKey {
        case file, container, duration, startTime, size, streams, frames, keyframes, keyframeInterval, openGOP, damagedTailAt, damage
        case discontinuities, undecodableFrames, audioGaps, damagedSpans
    }

    /// Absent values are written as null, so scripts can rely on every key being there.
    public func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(container, forKey: .container)
        try c.encode(duration, forKey: .duration)
        try c.encode(startTime, forKey: .startTime)
        try c.encode(size, forKey: .size)
        try c.encode(streams, forKey: .streams)
        try c.encode(frames, forKey: .frames)
        try c.encode(keyframes, forKey: .keyframes)
        try c.encode(keyframeInterval, forKey: .keyframeInterval)
        try c.encode(openGOP, forKey: .openGOP)
        try c.encode(damagedTailAt, forKey: .damagedTailAt)
        try c.encode(damage, forKey: .damage)
        try c.encode(discontinuities, forKey: .discontinuities)
        try c.encode(undecodableFrames, forKey: .undecodableFrames)
        try c.encode(audioGaps, forKey: .audioGaps)
        try c.encode(damagedSpans, forKey: .damagedSpans)
    }

    public static func make(path: String, progress: ProgressReporter? = nil) throws -> ProbeReport {
        try InputChecks.validate(input: path)
        let demuxer: Demuxer
        do { demuxer = try Demuxer(path: path) } catch let e as MediaError {
            throw CutError(.notMedia, path: path, detail: "not a readable media file (\(e.message))")
        }
        var index: PacketIndex? = nil
        if let v = demuxer.bestVideoStream {
            index = try PacketIndexer.index(path: path, demuxer: demuxer, videoStream: v) { progress?.update(stage: "indexing", fraction: $0) }
        }
        let planner = index.map { CutPlanner(index: $0, path: path) }
        var streams: [Stream] = []
        for s in demuxer.streams {
            var out = Stream(index: s.index, type: s.kind.rawValue, codec: s.codecName)
            out.profile = s.profileName
            out.bitRate = s.bitRate > 0 ? s.bitRate : nil
            if s.kind == .video {
                out.level = s.level > 0 ? Int(s.level) : nil
                out.width = s.width; out.height = s.height
                out.pixelFormat = s.pixelFormatName
                out.rotation = (s.rotation.truncatingRemainder(dividingBy: 360) + 360).truncatingRemainder(dividingBy: 360)
                let fr = s.averageFrameRate.num > 0 ? s.averageFrameRate : s.realFrameRate
                out.frameRate = fr.den > 0 ? (fr.doubleValue * 1000).rounded() / 1000 : nil
                if let index, s.index == index.header.streamIndex { out.isVFR = ProbeReport.isVariableFrameRate(index) }
                if let par = demuxer.context.pointee.streams[s.index]?.pointee.codecpar {
                    let c = ColourProperties(parameters: par)
                    let named = { (value: Int32, name: String) in value == ColourProperties.unspecified ? "unknown" : name }
                    out.colorPrimaries = named(c.primaries, c.primariesName)
                    out.colorTransfer = named(c.transfer, c.transferName)
                    out.colorMatrix = named(c.matrix, c.matrixName)
                    out.colorRange = c.rangeName
                    out.bitDepth = c.bitDepth
                    out.hdr = c.hdrName
                }
            } else if s.kind == .audio {
                out.sampleRate = s.sampleRate; out.channels = s.channels
            }
            streams.append(out)
        }
        var interval: Interval? = nil
        var keyframes = 0
        var open = false
        if let index {
            let starts = index.packets.filter { $0.isDecodeStart }.map { $0.pts }.sorted()
            keyframes = starts.count
            let gaps = zip(starts.dropFirst(), starts).map { index.timeBase.seconds($0 - $1) }.sorted()
            if !gaps.isEmpty { interval = Interval(min: gaps.first!, median: gaps[gaps.count / 2], max: gaps.last!) }
            open = index.packets.contains { $0.isLeading }
                || index.packets.contains { $0.flags & IndexedPacket.containerKey != 0 && !$0.isDecodeStart }
                || index.packets.contains { $0.isDecodeStart && !$0.isCopyStart }
        }
        // Closed up, the recording lasts as long as its runs together, whatever the container says.
        let jumped = (index?.header.runs.count ?? 0) > 1
        let duration = (jumped ? planner?.durationSeconds : nil) ?? demuxer.durationMicros.map { Double($0) / 1e6 } ?? planner?.durationSeconds ?? 0
        var report = ProbeReport(
            file: path, container: demuxer.formatName, duration: duration,
            startTime: Double(demuxer.startTimeMicros) / 1e6, size: demuxer.fileSize, streams: streams,
            frames: planner?.order.count ?? 0, keyframes: keyframes, keyframeInterval: interval, openGOP: open,
            damagedTailAt: index?.header.damagedAtPTS.flatMap { p in planner.map { $0.timeBase.seconds(p - $0.origin) } },
            damage: index?.header.damageMessage)
        if let index, let planner {
            let runs = index.header.runs
            for (k, run) in runs.enumerated() {
                let span = run.firstPacket..<(k + 1 < runs.count ? runs[k + 1].firstPacket : index.packets.count)
                let first = span.filter { index.packets[$0].isUsable }.map { index.packets[$0].pts }.min()
                    ?? index.packets[run.firstPacket].pts
                let at = planner.timeBase.seconds(first - planner.origin)
                if k > 0 {
                    report.discontinuities.append(Discontinuity(
                        position: at, kind: run.kind.rawValue, jump: planner.timeBase.seconds(run.jump),
                        parametersChanged: run.parameterSets != runs[k - 1].parameterSets))
                }
                if run.undecodableFrames > 0 { report.undecodableFrames.append(UndecodableSpan(position: at, frames: run.undecodableFrames)) }
            }
            report.audioGaps = index.header.audioGaps
            report.damagedSpans = index.header.damagedSpans
        }
        return report
    }

    /// Variable when frame durations stray from the typical one by more than rounding explains.
    static func isVariableFrameRate(_ index: PacketIndex) -> Bool {
        let pts = index.packets.filter { !$0.isCorruptOrUntimed }.map { $0.pts }.sorted()
        guard pts.count > 2 else { return false }
        let deltas = zip(pts.dropFirst(), pts).map { $0 - $1 }
        let median = deltas.sorted()[deltas.count / 2]
        let tolerance = max(1, median / 50)
        let off = deltas.filter { abs($0 - median) > tolerance }.count
        return off * 100 > deltas.count
    }

    public var text: String {
        var lines: [String] = []
        lines.append("\(file)")
        lines.append(String(format: "  container %@, duration %.3f s, start %.3f s, %lld bytes", container, duration, startTime, size))
        for s in streams {
            if s.type == "video" {
                var l = "  #\(s.index) video \(s.codec)"
                if let p = s.profile { l += " (\(p)" + (s.level.map { " level \($0)" } ?? "") + ")" }
                l += " \(s.width ?? 0)x\(s.height ?? 0) \(s.pixelFormat ?? "?")"
                if let f = s.frameRate { l += String(format: " %.3f fps", f) }
                if s.isVFR == true { l += " VFR" }
                if let r = s.rotation, r != 0 { l += " rotated \(Int(r))°" }
                lines.append(l)
                if let p = s.colorPrimaries, let t = s.colorTransfer, let m = s.colorMatrix {
                    lines.append("     colour: primaries \(p), transfer \(t), matrix \(m), range \(s.colorRange ?? "unknown"), "
                                 + "\(s.bitDepth ?? 8)-bit" + (s.hdr.map { ", HDR \($0)" } ?? ", SDR"))
                }
            } else if s.type == "audio" {
                lines.append("  #\(s.index) audio \(s.codec) \(s.sampleRate ?? 0) Hz \(s.channels ?? 0) ch")
            } else {
                lines.append("  #\(s.index) \(s.type) \(s.codec)")
            }
        }
        lines.append("  frames \(frames), keyframes \(keyframes), GOP \(openGOP ? "open" : "closed")")
        if let k = keyframeInterval { lines.append(String(format: "  keyframe interval min %.3f s, median %.3f s, max %.3f s", k.min, k.median, k.max)) }
        if let d = damagedTailAt { lines.append(String(format: "  damaged from %.3f s (%@)", d, damage ?? "read error")) }
        for d in discontinuities {
            var l = String(format: "  discontinuity at %.3f s: %@", d.position, d.kind)
            if d.jump != 0 { l += String(format: " (timestamps jumped %+.3f s, closed up)", d.jump) }
            if d.parametersChanged { l += ", new parameter sets" }
            lines.append(l)
        }
        for u in undecodableFrames {
            lines.append(String(format: "  %d undecodable frame(s) at %.3f s (began mid-GOP): not part of the recording", u.frames, u.position))
        }
        for g in audioGaps { lines.append(String(format: "  audio gap at %.3f s, %.3f s long (played as silence)", g.start, g.length)) }
        for d in damagedSpans { lines.append(String(format: "  damaged packets %.3f–%.3f s", d.start, d.end)) }
        return lines.joined(separator: "\n")
    }
}

extension ProbeReport.Stream {
    init(index: Int, type: String, codec: String) {
        self.index = index; self.type = type; self.codec = codec
    }
}
