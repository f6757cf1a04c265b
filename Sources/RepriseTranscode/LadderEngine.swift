import CFFmpeg
import Foundation
import RepriseCut
import RepriseHLS
import RepriseMedia
import RepriseProfiles

public struct LadderRequest: Sendable {
    public var input: String
    /// The folder the ladder is published as (made by rename when complete).
    public var output: String
    public var ladder: Ladder
    public var range: RangeRequest?
    public init(input: String, output: String, ladder: Ladder, range: RangeRequest? = nil) {
        self.input = input; self.output = output; self.ladder = ladder; self.range = range
    }
}

public struct LadderResult: Encodable, Sendable {
    public struct Rung: Encodable, Sendable {
        public var name: String
        public var width: Int
        public var height: Int
        public var frameRate: Double
        public var frames: Int
        public var bandwidth: Int
        public var averageBandwidth: Int
        /// Video alone: peak and average segment bitrate.
        public var videoPeakBitrate: Int
        public var videoAverageBitrate: Int
        public var codecs: String
        public var segments: Int
        public var playlist: String
        public var iFramePlaylist: String
        public var videoEncoder: String
        public var videoOptions: [String: String]
        public var videoFilter: String
    }
    public struct Audio: Encodable, Sendable {
        public var codec: String
        public var peakBitrate: Int
        public var averageBitrate: Int
        public var segments: Int
        public var playlist: String
        public var audioEncoder: String
        public var audioOptions: [String: String]
        public var audioFilter: String
    }
    public var input: String
    public var output: String
    public var master: String
    public var ladder: String
    public var format: String
    public var segmentSeconds: Double
    public var gopSeconds: Double
    public var from: Double
    public var to: Double
    public var rungs: [Rung]
    public var audio: Audio?
    public var skipped: [String]
    public var bytes: Int
    public var seconds: Double
}

/// Makes an HLS ladder from one decode: every rung scaled from the same decoded frames and
/// encoded on its own queue, IDRs forced on one time grid in all rungs (closed GOPs, no
/// scene-cut keyframes), segments cut by libavformat's HLS muxer on those IDRs, one shared audio
/// rendition. The master playlist is written last from what was measured in the segments.
/// Everything is made in a hidden folder beside the output and renamed into place at the end.
public final class LadderEngine {
    let progress: ProgressReporter?
    public init(progress: ProgressReporter? = nil) { self.progress = progress }

    /// Rung sizes for a source: each rung's box with the source fitted inside (aspect kept, even);
    /// boxes that would scale the source up are skipped. If every box is bigger than the source,
    /// the smallest rung is kept at the source's own size.
    public static func rungSizes(_ ladder: Ladder, source: (width: Int, height: Int))
        -> (kept: [(rung: Ladder.Rung, width: Int, height: Int)], skipped: [String]) {
        var kept: [(rung: Ladder.Rung, width: Int, height: Int)] = []
        var skipped: [String] = []
        for rung in ladder.rungs {
            let s = min(Double(rung.video.width) / Double(source.width), Double(rung.video.height) / Double(source.height))
            if s > 1.0001 {
                skipped.append("\(rung.name): \(rung.video.width)x\(rung.video.height) is bigger than the \(source.width)x\(source.height) source")
                continue
            }
            let w = RenderPlanner.even(Double(source.width) * s), h = RenderPlanner.even(Double(source.height) * s)
            if kept.contains(where: { $0.width == w && $0.height == h }) {
                skipped.append("\(rung.name): same size as a rung kept (\(w)x\(h))")
                continue
            }
            kept.append((rung, w, h))
        }
        if kept.isEmpty, let smallest = ladder.rungs.min(by: { $0.video.width * $0.video.height < $1.video.width * $1.video.height }) {
            kept.append((smallest, RenderPlanner.even(Double(source.width)), RenderPlanner.even(Double(source.height))))
            skipped.removeAll { $0.hasPrefix(smallest.name + ":") }
        }
        return (kept, skipped)
    }

    public func run(_ request: LadderRequest) throws -> LadderResult {
        let started = Date()
        let ladder = request.ladder
        try InputChecks.validate(input: request.input)
        let final = URL(fileURLWithPath: request.output).standardizedFileURL
        let parent = final.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue,
              access(parent.path, W_OK) == 0 else {
            throw CutError(.unwritableOutput, path: request.output, detail: "the folder \(parent.path) does not exist or is not writable")
        }
        if FileManager.default.fileExists(atPath: final.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CutError(.unwritableOutput, path: request.output, detail: "is a file; a ladder is a folder") }
            // Only a ladder (or nothing) is ever replaced: never a folder of other things.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: final.path)) ?? []
            if !names.isEmpty && !names.contains("master.m3u8") {
                throw CutError(.unwritableOutput, path: request.output,
                               detail: "is a folder that holds no ladder (no master.m3u8); give a new or empty folder")
            }
        }

        if ladder.format == .ts && ladder.rungs.contains(where: { $0.video.codec != .h264 }) {
            throw CutError(.unsupported, path: request.output, detail: "\(ladder.name): HLS carries HEVC and AV1 in fMP4 only (use --format fmp4)")
        }
        let source = try SourceSession(input: request.input, range: request.range, progress: progress)
        let base = source.timeBase
        let length = source.plan.endPTS - source.plan.firstPTS
        let (kept, skipped) = LadderEngine.rungSizes(ladder, source: source.uprightSize)
        for s in skipped { progress?.note("\(request.input): rung \(s): skipped") }

        // Built in a hidden sibling, published by rename: a crash never leaves a half-made ladder
        // under the final name.
        LadderEngine.removeDeadWork(beside: final)
        let work = parent.appendingPathComponent(".\(final.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false) } catch {
            throw CutError(.unwritableOutput, path: request.output, detail: "can't make \(work.path): \(error.localizedDescription)")
        }
        TemporaryFiles.shared.registerFolder(work.path)
        defer {
            if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) }
            TemporaryFiles.shared.unregisterFolder(work.path)
        }

        let isTS = ladder.format == .ts
        let segmentExtension = isTS ? "ts" : "m4s"
        func hls(_ folder: String) throws -> OutputPipeline.Container {
            let dir = work.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var options = [
                "hls_time": String(ladder.segmentSeconds),
                "hls_playlist_type": "vod",
                "hls_list_size": "0",
                "hls_segment_type": isTS ? "mpegts" : "fmp4",
                "hls_segment_filename": dir.appendingPathComponent("seg_%05d.\(segmentExtension)").path,
                "hls_flags": "independent_segments",
                // Lets MPEG-TS gather audio frames into PES packets (as the ffmpeg program's
                // default -muxdelay does); without it every AAC frame costs its own PES and TS packet.
                "max_delay": "700000",
            ]
            if !isTS { options["hls_fmp4_init_filename"] = "init.mp4" }
            return OutputPipeline.Container(format: "hls", options: options)
        }

        var pipelines: [OutputPipeline] = []
        do {
            for k in kept {
                var container = try hls(k.rung.name)
                container.audio = false
                container.keyframeSeconds = ladder.gopSeconds
                container.globalHeader = !isTS  // TS segments carry their parameter sets in-band
                var video = k.rung.video
                video.width = k.width; video.height = k.height; video.fit = .pad; video.upscale = false
                let profile = Profile(name: k.rung.name, description: "", video: video, audio: ladder.audio, source: ladder.source)
                pipelines.append(try makePipeline(profile, path: work.appendingPathComponent("\(k.rung.name)/index.m3u8").path,
                                                  container: container, source: source, length: length))
            }
            if source.audioInput != nil {
                var container = try hls("audio")
                container.video = false
                let profile = Profile(name: "audio", description: "", video: Profile.Video(width: 2, height: 2),
                                      audio: ladder.audio, source: ladder.source)
                pipelines.append(try makePipeline(profile, path: work.appendingPathComponent("audio/index.m3u8").path,
                                                  container: container, source: source, length: length))
            }
        } catch {
            pipelines.forEach { $0.discard() }
            throw error
        }

        let frames = try source.run(pipelines, progress: progress, stage: "ladder")
        progress?.update(stage: "playlists", fraction: 0)

        // Measure what was written; I-frame playlists; the master.
        var rungs: [LadderResult.Rung] = []
        var variants: [MasterPlaylist.Variant] = []
        var audioResult: LadderResult.Audio? = nil
        var audioRates = (peak: 0, average: 0)
        var audioCodec: String? = nil
        if let a = pipelines.last, a.profile.name == "audio", let choice = a.audioChoice {
            let folder = work.appendingPathComponent("audio")
            let media = try LadderEngine.readPlaylist(folder.appendingPathComponent("index.m3u8"), path: request.output)
            audioRates = try LadderEngine.segmentRates(media, folder: folder, path: request.output)
            guard let codec = a.audioCodecString else {
                throw CutError(.unsupported, path: request.output, detail: "audio: HLS has no codec string for \(codecName(encoder: choice.encoder))")
            }
            audioCodec = codec
            audioResult = .init(codec: codec, peakBitrate: audioRates.peak, averageBitrate: audioRates.average,
                                segments: media.segments.count, playlist: "audio/index.m3u8", audioEncoder: choice.encoder,
                                audioOptions: choice.options, audioFilter: a.audioRender?.filter ?? "")
        }
        for (k, p) in zip(kept, pipelines) {
            let folder = work.appendingPathComponent(k.rung.name)
            let media = try LadderEngine.readPlaylist(folder.appendingPathComponent("index.m3u8"), path: request.output)
            let rates = try LadderEngine.segmentRates(media, folder: folder, path: request.output)
            let isHEVC = k.rung.video.codec == .hevc
            guard let video = CodecString.video(isHEVC: isHEVC, extradata: p.videoExtradata, firstPacket: p.firstVideoPacket) else {
                throw CutError(.failed, path: request.output, detail: "\(k.rung.name): no parameter sets to name the codec")
            }
            let iframes = try LadderEngine.iFramePlaylist(media, folder: folder, isTS: isTS, path: request.output)
            try Data(iframes.playlist.render().utf8).write(to: folder.appendingPathComponent("iframes.m3u8"))
            let codecs = [video, audioCodec].compactMap { $0 }.joined(separator: ",")
            variants.append(.init(bandwidth: rates.peak + audioRates.peak, averageBandwidth: rates.average + audioRates.average,
                                  codecs: codecs, videoCodec: video, width: k.width, height: k.height,
                                  frameRate: p.outputFrameRate.doubleValue, uri: "\(k.rung.name)/index.m3u8",
                                  iFrameURI: "\(k.rung.name)/iframes.m3u8", iFrameBandwidth: iframes.peak,
                                  iFrameAverageBandwidth: iframes.average))
            rungs.append(.init(name: k.rung.name, width: k.width, height: k.height, frameRate: p.outputFrameRate.doubleValue,
                               frames: p.framesOut, bandwidth: rates.peak + audioRates.peak,
                               averageBandwidth: rates.average + audioRates.average, videoPeakBitrate: rates.peak,
                               videoAverageBitrate: rates.average, codecs: codecs, segments: media.segments.count,
                               playlist: "\(k.rung.name)/index.m3u8", iFramePlaylist: "\(k.rung.name)/iframes.m3u8",
                               videoEncoder: p.videoChoice?.encoder ?? "", videoOptions: p.videoChoice?.options ?? [:],
                               videoFilter: p.render.filter))
        }
        let audioGroup = audioResult.map { _ in
            MasterPlaylist.Audio(groupID: "audio", name: "Main", channels: ladder.audio.channels, uri: "audio/index.m3u8")
        }
        let master = MasterPlaylist(version: isTS ? 4 : 7, audio: audioGroup, variants: variants)
        try Data(master.render().utf8).write(to: work.appendingPathComponent("master.m3u8"))
        let bytes = LadderEngine.folderBytes(work)
        try LadderEngine.publish(work, as: final, path: request.output)
        progress?.update(stage: "done", fraction: 1)

        return LadderResult(input: request.input, output: final.path, master: final.appendingPathComponent("master.m3u8").path,
                            ladder: ladder.name, format: ladder.format.rawValue, segmentSeconds: ladder.segmentSeconds,
                            gopSeconds: ladder.gopSeconds, from: base.seconds(source.plan.firstPTS - source.planner.origin),
                            to: base.seconds(source.plan.endPTS - source.planner.origin), rungs: rungs, audio: audioResult,
                            skipped: skipped, bytes: bytes, seconds: Date().timeIntervalSince(started))
    }

    private func makePipeline(_ profile: Profile, path: String, container: OutputPipeline.Container,
                              source: SourceSession, length: Int64) throws -> OutputPipeline {
        let setup = OutputPipeline.Setup(container: container, videoInput: source.videoInput, audioInput: source.audioInput,
                                         sourceRotation: source.info.rotation, sourceFrameRate: source.frameRate,
                                         videoLimit: length, videoEnd: length, measured: nil, chapters: [])
        do { return try OutputPipeline(profile: profile, path: path, setup: setup) } catch let e as MediaError {
            throw CutError(.failed, path: path, detail: "\(profile.name): \(e.description)")
        } catch let e as TranscodeError {
            throw CutError(.unsupported, path: path, detail: "\(profile.name): \(e.description)")
        }
    }

    static func readPlaylist(_ url: URL, path: String) throws -> MediaPlaylist {
        guard let text = try? String(contentsOf: url, encoding: .utf8), let p = MediaPlaylist.parse(text), !p.segments.isEmpty else {
            throw CutError(.failed, path: path, detail: "the HLS muxer left no readable playlist at \(url.lastPathComponent)")
        }
        return p
    }

    /// Peak and average bits per second over a playlist's segments (sizes on disk / EXTINF).
    static func segmentRates(_ p: MediaPlaylist, folder: URL, path: String) throws -> (peak: Int, average: Int) {
        var peak = 0.0, bits = 0.0
        for s in p.segments {
            let size = try fileSize(folder.appendingPathComponent(s.uri), path: path)
            bits += Double(size) * 8
            if s.duration > 0 { peak = max(peak, Double(size) * 8 / s.duration) }
        }
        let total = p.totalDuration
        return (Int(peak.rounded(.up)), total > 0 ? Int((bits / total).rounded(.up)) : 0)
    }

    /// One I-frame per segment: its opening keyframe, head included (see `SegmentKeyframe`).
    static func iFramePlaylist(_ media: MediaPlaylist, folder: URL, isTS: Bool, path: String)
        throws -> (playlist: MediaPlaylist, peak: Int, average: Int) {
        var p = MediaPlaylist()
        p.version = isTS ? 4 : 7
        p.playlistType = "VOD"
        p.independentSegments = true
        p.iFramesOnly = true
        p.mapURI = media.mapURI
        p.endList = true
        var peak = 0.0, bits = 0.0
        for s in media.segments {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(s.uri).path),
                  let length = SegmentKeyframe.openingLength(of: [UInt8](data), format: isTS ? "ts" : "fmp4") else {
                throw CutError(.failed, path: path, detail: "\(folder.lastPathComponent)/\(s.uri): can't find its opening keyframe")
            }
            p.segments.append(.init(duration: s.duration, uri: s.uri, byteRange: (length, 0)))
            bits += Double(length) * 8
            if s.duration > 0 { peak = max(peak, Double(length) * 8 / s.duration) }
        }
        p.targetDuration = MediaPlaylist.targetDuration(for: p.segments.map(\.duration))
        let total = p.totalDuration
        return (p, Int(peak.rounded(.up)), total > 0 ? Int((bits / total).rounded(.up)) : 0)
    }

    static func fileSize(_ url: URL, path: String) throws -> Int {
        guard let n = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber else {
            throw CutError(.failed, path: path, detail: "segment \(url.lastPathComponent) is missing")
        }
        return n.intValue
    }

    static func folderBytes(_ url: URL) -> Int {
        let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey])
        var total = 0
        while let f = e?.nextObject() as? URL { total += (try? f.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0 }
        return total
    }

    /// Renames the finished folder into place. An older ladder there is moved aside first and
    /// removed after, so the final name always holds a complete ladder or none.
    static func publish(_ work: URL, as final: URL, path: String) throws {
        do { try AtomicPublish.replaceFolder(final.path, with: work.path) } catch let e as AtomicPublish.Failure {
            throw CutError(.unwritableOutput, path: path, detail: "can't publish the ladder: \(e.reason)")
        }
    }

    /// Work folders of runs that died (SIGKILL, power loss) beside `final`: their process is gone.
    static func removeDeadWork(beside final: URL) {
        let parent = final.deletingLastPathComponent()
        let prefixes = [".\(final.lastPathComponent).partial-", ".\(final.lastPathComponent).old-"]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? [] {
            guard let prefix = prefixes.first(where: { name.hasPrefix($0) }), let pid = Int32(name.dropFirst(prefix.count)),
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))
        }
    }

}
