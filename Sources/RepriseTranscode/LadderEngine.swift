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
    /// Measure each rung's PSNR and SSIM against the source (a second decode of everything).
    public var qualityReport = false
    public init(input: String, output: String, ladder: Ladder, range: RangeRequest? = nil, qualityReport: Bool = false) {
        self.input = input; self.output = output; self.ladder = ladder; self.range = range; self.qualityReport = qualityReport
    }
}

public struct LadderResult: Encodable, Sendable {
    public struct Rung: Encodable, Sendable {
        public var name: String
        /// "copied": the source's own frames (GOPs copied, edges re-encoded where the grid needs
        /// an IDR the source lacks); "encoded": scaled and encoded (`scaledFrom` says from what).
        public var video: String
        /// Why the rung was or was not copied from the source (the top rung only).
        public var reuse: String?
        public var copiedPackets: Int
        public var reencodedFrames: Int
        /// "source", or the rung whose filtered frames it is scaled from (a scaler cascade).
        public var scaledFrom: String?
        public var quality: RungQuality?
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
        /// The encode settings of the rung (for a copied rung: those its encode would have used,
        /// so a comparison can make the same rung with another tool).
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
        // Largest first, whatever the file's order: the first is the top rung (the one the source may
        // be), and each rung of the cascade is scaled from the one before it.
        kept.sort { $0.width * $0.height > $1.width * $1.height }
        return (kept, skipped)
    }

    public func run(_ request: LadderRequest) throws -> LadderResult {
        let started = Date()
        let ladder = request.ladder
        try InputChecks.validate(input: request.input)
        let final = try LadderEngine.checkOutputFolder(request.output)

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
        let work = try LadderEngine.makeWorkFolder(beside: final, path: request.output)
        defer { LadderEngine.removeWorkFolder(work) }

        let isTS = ladder.format == .ts
        func hls(_ folder: String) throws -> OutputPipeline.Container {
            try LadderEngine.hlsContainer(ladder, folder: work.appendingPathComponent(folder))
        }

        // The top rung is the source's own frames when the source fits it; the other rungs come
        // from one decode through a scaler cascade, each scaled from the next larger one.
        let gopTicks = TimeBase(1, 1_000_000).rescale(Int64(ladder.gopSeconds * 1_000_000), to: base)
        let grid = ReusedRung.gridRanges(planner: source.planner, firstPTS: source.plan.firstPTS,
                                         endPTS: source.plan.endPTS, gopTicks: gopTicks)
        let fit = LadderEngine.topRungFit(ladder: ladder, source: source, rung: kept[0].rung.video,
                                          size: (kept[0].width, kept[0].height), grid: grid)
        let reuseTop = ladder.reuse && fit.fits
        progress?.note("\(request.input): rung \(kept[0].rung.name): " + (reuseTop ? "copied from the source (\(fit.reason))"
                       : ladder.reuse ? "encoded (\(fit.reason))" : "encoded (the ladder says reuse: never)"))
        var cutJob: ReusedRung.Job? = nil
        var pipelines: [OutputPipeline] = []
        var encoded: [Int: (pipeline: OutputPipeline, from: String)] = [:]
        do {
            if reuseTop {
                let name = kept[0].rung.name
                let container = try hls(name)
                var cut = CutRequest(input: request.input, output: work.appendingPathComponent("\(name)/index.m3u8").path,
                                     ranges: grid, mode: .smart)
                cut.formatName = "hls"
                cut.muxerOptions = container.options
                cut.videoOnly = true
                // Edges at a quality under the rung's cap: an average-bitrate encode of a short partial
                // GOP starts starved, and the rung's BANDWIDTH is held to max_bitrate.
                let top = kept[0].rung.video
                if let cap = top.maxBitrate ?? top.bitrate {
                    cut.edgeQuality = EdgeEncoding.Quality(crf: top.quality ?? 20, maxBitRate: Int64(cap),
                                                           bufferSize: Int64(top.bufferSize ?? 2 * cap))
                }
                cut.preset = kept[0].rung.video.encoderOptions["preset"] ?? "veryfast"
                cutJob = ReusedRung.Job(cut)
            }
            var upstream: (pipeline: OutputPipeline, name: String)? = nil
            for (n, k) in kept.enumerated() where !(n == 0 && reuseTop) {
                var container = try hls(k.rung.name)
                container.audio = false
                container.keyframeSeconds = ladder.gopSeconds
                container.globalHeader = !isTS  // TS segments carry their parameter sets in-band
                var video = k.rung.video
                video.width = k.width; video.height = k.height; video.fit = .pad; video.upscale = false
                let profile = Profile(name: k.rung.name, description: "", video: video, audio: ladder.audio, source: ladder.source)
                let p = try makePipeline(profile, path: work.appendingPathComponent("\(k.rung.name)/index.m3u8").path, ladderPath: request.output,
                                         container: container, source: source, length: length,
                                         cascadeInput: upstream?.pipeline.videoOutput)
                upstream?.pipeline.cascadeNext = p
                encoded[n] = (p, upstream?.name ?? "source")
                upstream = (p, k.rung.name)
                pipelines.append(p)
            }
            if source.audioInput != nil {
                var container = try hls("audio")
                container.video = false
                let profile = Profile(name: "audio", description: "", video: Profile.Video(width: 2, height: 2),
                                      audio: ladder.audio, source: ladder.source)
                pipelines.append(try makePipeline(profile, path: work.appendingPathComponent("audio/index.m3u8").path, ladderPath: request.output,
                                                  container: container, source: source, length: length))
            }
        } catch {
            pipelines.forEach { $0.discard() }
            _ = try? cutJob?.wait()
            throw error
        }

        do {
            if !pipelines.isEmpty { _ = try source.run(pipelines, progress: progress, stage: "ladder") }
        } catch {
            _ = try? cutJob?.wait()
            throw error
        }
        let cut = try cutJob?.wait()
        progress?.update(stage: "playlists", fraction: 0)

        // Measure what was written; I-frame playlists; the master.
        var rungs: [LadderResult.Rung] = []
        var variants: [MasterPlaylist.Variant] = []
        var audioResult: LadderResult.Audio? = nil
        var audioRates = (peak: 0, average: 0)
        var audioCodec: String? = nil
        if let a = pipelines.last, a.profile.name == "audio", let choice = a.audioChoice {
            let measured = try LadderEngine.measureAudio(work.appendingPathComponent("audio"), path: request.output)
            audioRates = measured.rates
            guard let codec = a.audioCodecString else {
                throw CutError(.unsupported, path: request.output, detail: "audio: HLS has no codec string for \(codecName(encoder: choice.encoder))")
            }
            audioCodec = codec
            audioResult = .init(codec: codec, peakBitrate: audioRates.peak, averageBitrate: audioRates.average,
                                segments: measured.segments, playlist: "audio/index.m3u8", audioEncoder: choice.encoder,
                                audioOptions: choice.options, audioFilter: a.audioRender?.filter ?? "")
        }
        for (n, k) in kept.enumerated() {
            let isHEVC = k.rung.video.codec == .hevc
            let codecVideo: String?
            let frameRate: Double, framesOut: Int, encoderName: String, options: [String: String], filter: String
            var copied = 0, reencoded = 0
            if let p = encoded[n]?.pipeline {
                codecVideo = CodecString.video(isHEVC: isHEVC, extradata: p.videoExtradata, firstPacket: p.firstVideoPacket)
                frameRate = p.outputFrameRate.doubleValue; framesOut = p.framesOut
                encoderName = p.videoChoice?.encoder ?? ""; options = p.videoChoice?.options ?? [:]; filter = p.render.filter
                reencoded = p.framesOut
            } else if let cut {
                // Named by the source's own parameter sets: they are the stream's (the edges'
                // sets are only added beside them).
                codecVideo = CodecString.video(isHEVC: isHEVC, extradata: source.videoExtradata, firstPacket: [])
                frameRate = source.frameRate.doubleValue; framesOut = cut.frames
                copied = cut.copiedPackets; reencoded = cut.reencodedFrames
                var video = k.rung.video
                video.width = k.width; video.height = k.height; video.fit = .pad; video.upscale = false
                let choice = try? EncoderChoice.video(video, frameRate: frameRate, fixedGOP: true)
                encoderName = choice?.encoder ?? ""; options = choice?.options ?? [:]
                filter = RenderPlanner.plan(video: video, source: (source.videoInput.width, source.videoInput.height),
                                            rotation: source.info.rotation, frameRate: frameRate,
                                            pixelFormat: source.videoInput.pixelFormat).filter
            } else {
                throw CutError(.failed, path: request.output, detail: "\(k.rung.name): internal: no maker for the rung")
            }
            guard let video = codecVideo else {
                throw CutError(.failed, path: request.output, detail: "\(k.rung.name): no parameter sets to name the codec")
            }
            let measured = try LadderEngine.measureRung(work.appendingPathComponent(k.rung.name), name: k.rung.name, width: k.width,
                                                        height: k.height, frameRate: frameRate, videoCodec: video, audioCodec: audioCodec,
                                                        audioRates: audioRates, isTS: isTS, path: request.output)
            let (rates, codecs) = (measured.rates, measured.variant.codecs)
            variants.append(measured.variant)
            rungs.append(.init(name: k.rung.name, video: encoded[n] == nil ? "copied" : "encoded",
                               reuse: n == 0 ? (ladder.reuse ? fit.reason : "reuse: never") : nil,
                               copiedPackets: copied, reencodedFrames: reencoded, scaledFrom: encoded[n]?.from,
                               quality: nil, width: k.width, height: k.height, frameRate: frameRate,
                               frames: framesOut, bandwidth: rates.peak + audioRates.peak,
                               averageBandwidth: rates.average + audioRates.average, videoPeakBitrate: rates.peak,
                               videoAverageBitrate: rates.average, codecs: codecs, segments: measured.segments,
                               playlist: "\(k.rung.name)/index.m3u8", iFramePlaylist: "\(k.rung.name)/iframes.m3u8",
                               videoEncoder: encoderName, videoOptions: options, videoFilter: filter))
        }
        if request.qualityReport {
            progress?.update(stage: "quality", fraction: 0)
            let measured = try QualityMeter.measure(input: request.input, range: request.range,
                                                    rungs: rungs.map { work.appendingPathComponent($0.playlist).path },
                                                    path: request.output, progress: progress)
            for (i, q) in measured.enumerated() { rungs[i].quality = q }
        }
        try LadderEngine.writeMaster(work, isTS: isTS, audioChannels: audioResult.map { _ in ladder.audio.channels }, variants: variants)
        let bytes = LadderEngine.folderBytes(work)
        try LadderEngine.publish(work, as: final, path: request.output)
        progress?.update(stage: "done", fraction: 1)

        return LadderResult(input: request.input, output: final.path, master: final.appendingPathComponent("master.m3u8").path,
                            ladder: ladder.name, format: ladder.format.rawValue, segmentSeconds: ladder.segmentSeconds,
                            gopSeconds: ladder.gopSeconds, from: base.seconds(source.plan.firstPTS - source.planner.origin),
                            to: base.seconds(source.plan.endPTS - source.planner.origin), rungs: rungs, audio: audioResult,
                            skipped: skipped, bytes: bytes, seconds: Date().timeIntervalSince(started))
    }

    /// - Parameter cascadeInput: the frames come from another rung's filter graph (upright, at
    ///   its rate, in its time base) rather than from the source.
    /// - Parameter ladderPath: the ladder's own folder, which errors name (not the hidden work folder).
    /// - Parameter readEnd: where the frames read end (relative, source time base), when a chunk
    ///   reads less than the whole length: the video graph closes there.
    func makePipeline(_ profile: Profile, path: String, ladderPath: String, container: OutputPipeline.Container,
                      source: SourceSession, length: Int64, cascadeInput: FilterGraph.VideoInput? = nil,
                      readEnd: Int64? = nil) throws -> OutputPipeline {
        let end = min(length, readEnd ?? length)
        var setup = OutputPipeline.Setup(container: container, videoInput: source.videoInput, audioInput: source.audioInput,
                                         sourceRotation: source.info.rotation, sourceFrameRate: source.frameRate,
                                         videoLimit: length, videoEnd: end, measured: nil, chapters: [])
        if let input = cascadeInput {
            setup.videoInput = input
            setup.sourceRotation = 0
            setup.sourceFrameRate = input.frameRate
            // The rung above already left out frames past the range.
            setup.videoLimit = .max
            setup.videoEnd = source.timeBase.rescale(end, to: input.timeBase)
        }
        do { return try OutputPipeline(profile: profile, path: path, setup: setup) } catch let e as MediaError {
            throw CutError(.failed, path: ladderPath, detail: "\(profile.name): \(e.description)")
        } catch let e as TranscodeError {
            throw CutError(.unsupported, path: ladderPath, detail: "\(profile.name): \(e.description)")
        }
    }

    /// Whether the source can be the top rung as it is (`RungFit`), from its stream description
    /// and its average video bitrate over the range.
    static func topRungFit(ladder: Ladder, source: SourceSession, rung: Profile.Video, size: (Int, Int),
                           grid: [RangeRequest]) -> RungFit {
        let info = source.info
        var bytes: Int64 = 0
        var keyframes: [Int64] = [source.plan.firstPTS]
        for p in source.index.packets where p.pts >= source.plan.firstPTS && p.pts < source.plan.endPTS {
            bytes += Int64(p.size)
            if p.isCopyStart { keyframes.append(p.pts) }  // where a copy can start, as SourceFit counts
        }
        keyframes.append(source.plan.endPTS)
        keyframes.sort()
        let longestGOP = zip(keyframes, keyframes.dropFirst()).map { $1 - $0 }.max() ?? 0
        let seconds = source.timeBase.seconds(source.plan.endPTS - source.plan.firstPTS)
        let sar = source.videoInput.sampleAspectRatio
        let s = RungFit.Source(codec: info.codecName, profile: info.profile, level: info.level, pixelFormat: info.pixelFormatName,
                               width: source.videoInput.width, height: source.videoInput.height, rotation: info.rotation,
                               squarePixels: sar.num == 0 || sar.num == sar.den, frameRate: source.frameRate.doubleValue,
                               bitrate: seconds > 0 ? Int(Double(bytes * 8) / seconds) : 0,
                               keyframeInterval: source.timeBase.seconds(longestGOP),
                               keyframesOnGrid: ReusedRung.keyframesOnGrid(grid, planner: source.planner))
        return RungFit.check(s, rung: rung, width: size.0, height: size.1, format: ladder.format, gopSeconds: ladder.gopSeconds)
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


    // MARK: Shared with the chunked ladder (LadderChunkEncoder, LadderStitcher)

    /// The ladder's final folder, checked: its parent writable, and nothing there but a ladder
    /// (or nothing), since only a ladder is ever replaced. A part folder of a chunked ladder
    /// (`chunk.json`) is replaced only by a chunk run (`replacingPart`), which replaces nothing
    /// else; and no output goes inside a part folder (parts are removed once stitched).
    static func checkOutputFolder(_ output: String, replacingPart: Bool = false) throws -> URL {
        let final = URL(fileURLWithPath: output).standardizedFileURL
        let parent = final.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue,
              access(parent.path, W_OK) == 0 else {
            throw CutError(.unwritableOutput, path: output, detail: "the folder \(parent.path) does not exist or is not writable")
        }
        var above = parent
        while above.path != "/" {
            if FileManager.default.fileExists(atPath: above.appendingPathComponent(LadderChunkManifest.fileName).path) {
                throw CutError(.unwritableOutput, path: output, detail: "is inside the ladder part folder \(above.path) (removed once stitched); "
                               + "give a folder outside it")
            }
            above = above.deletingLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: final.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CutError(.unwritableOutput, path: output, detail: "is a file; a ladder is a folder") }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: final.path)) ?? []
            let isPart = names.contains(LadderChunkManifest.fileName)
            if isPart && !replacingPart {
                throw CutError(.unwritableOutput, path: output,
                               detail: "is a ladder part folder (it holds \(LadderChunkManifest.fileName)), removed once stitched; give the ladder a folder of its own")
            }
            if !names.isEmpty && replacingPart && !isPart {
                throw CutError(.unwritableOutput, path: output,
                               detail: "is a folder that holds no ladder part (no \(LadderChunkManifest.fileName)); move it away or give another output")
            }
            if !names.isEmpty && !replacingPart && !names.contains("master.m3u8") {
                throw CutError(.unwritableOutput, path: output,
                               detail: "is a folder that holds no ladder (no master.m3u8); give a new or empty folder")
            }
        }
        return final
    }

    /// A hidden work folder beside `final` (`.NAME.partial-PID`), removed on a signal; dead
    /// runs' work folders there are removed first.
    static func makeWorkFolder(beside final: URL, path: String) throws -> URL {
        LadderEngine.removeDeadWork(beside: final)
        let work = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false) } catch {
            throw CutError(.unwritableOutput, path: path, detail: "can't make \(work.path): \(error.localizedDescription)")
        }
        TemporaryFiles.shared.registerFolder(work.path)
        return work
    }

    /// Removes the work folder if it is still there (it is not once published).
    static func removeWorkFolder(_ work: URL) {
        if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) }
        TemporaryFiles.shared.unregisterFolder(work.path)
    }

    /// libavformat's HLS muxer writing one rendition into `folder` (made here).
    /// - Parameters:
    ///   - firstSegment: the first segment's number (a chunk's segments keep the whole ladder's numbers).
    ///   - continuesTimeline: fMP4 only: the first packet is not the timeline's start (a later
    ///     chunk): its decode time becomes the first fragment's `tfdt` (movenc's frag_discont),
    ///     as the whole ladder has it there, and the fragments keep the whole ladder's sequence numbers.
    static func hlsContainer(_ ladder: Ladder, folder dir: URL, firstSegment: Int = 0,
                             continuesTimeline: Bool = false) throws -> OutputPipeline.Container {
        let isTS = ladder.format == .ts
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var options = [
            "hls_time": String(ladder.segmentSeconds),
            "hls_playlist_type": "vod",
            "hls_list_size": "0",
            "hls_segment_type": isTS ? "mpegts" : "fmp4",
            "hls_segment_filename": dir.appendingPathComponent("seg_%05d.\(isTS ? "ts" : "m4s")").path,
            "hls_flags": "independent_segments",
            // Lets MPEG-TS gather audio frames into PES packets (as the ffmpeg program's
            // default -muxdelay does); without it every AAC frame costs its own PES and TS packet.
            "max_delay": "700000",
        ]
        if !isTS { options["hls_fmp4_init_filename"] = "init.mp4" }
        if firstSegment > 0 { options["start_number"] = String(firstSegment) }
        if continuesTimeline && !isTS {
            options["hls_segment_options"] = "movflags=+frag_discont:fragment_index=\(firstSegment + 1)"
        }
        return OutputPipeline.Container(format: "hls", options: options)
    }

    /// Reads a rung's playlist from `folder`, writes its I-frame playlist there, and measures
    /// it: the rung's master-playlist variant (BANDWIDTH: peak segment rate, video and audio
    /// together), its video rates and its segment count.
    static func measureRung(_ folder: URL, name: String, width: Int, height: Int, frameRate: Double, videoCodec: String,
                            audioCodec: String?, audioRates: (peak: Int, average: Int), isTS: Bool, path: String)
        throws -> (variant: MasterPlaylist.Variant, rates: (peak: Int, average: Int), segments: Int) {
        let media = try readPlaylist(folder.appendingPathComponent("index.m3u8"), path: path)
        let rates = try segmentRates(media, folder: folder, path: path)
        let iframes = try iFramePlaylist(media, folder: folder, isTS: isTS, path: path)
        try Data(iframes.playlist.render().utf8).write(to: folder.appendingPathComponent("iframes.m3u8"))
        let codecs = [videoCodec, audioCodec].compactMap { $0 }.joined(separator: ",")
        let variant = MasterPlaylist.Variant(bandwidth: rates.peak + audioRates.peak, averageBandwidth: rates.average + audioRates.average,
                                             codecs: codecs, videoCodec: videoCodec, width: width, height: height,
                                             frameRate: frameRate, uri: "\(name)/index.m3u8",
                                             iFrameURI: "\(name)/iframes.m3u8", iFrameBandwidth: iframes.peak,
                                             iFrameAverageBandwidth: iframes.average)
        return (variant, rates, media.segments.count)
    }

    /// The audio rendition's segment rates and count.
    static func measureAudio(_ folder: URL, path: String) throws -> (rates: (peak: Int, average: Int), segments: Int) {
        let media = try readPlaylist(folder.appendingPathComponent("index.m3u8"), path: path)
        return (try segmentRates(media, folder: folder, path: path), media.segments.count)
    }

    /// `master.m3u8` in `work`: the audio group (when there is audio) and the variants.
    static func writeMaster(_ work: URL, isTS: Bool, audioChannels: Int?, variants: [MasterPlaylist.Variant]) throws {
        let audioGroup = audioChannels.map { MasterPlaylist.Audio(groupID: "audio", name: "Main", channels: $0, uri: "audio/index.m3u8") }
        let master = MasterPlaylist(version: isTS ? 4 : 7, audio: audioGroup, variants: variants)
        try Data(master.render().utf8).write(to: work.appendingPathComponent("master.m3u8"))
    }
}
