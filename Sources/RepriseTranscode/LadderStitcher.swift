import Foundation
import RepriseCut
import RepriseHLS
import RepriseMedia

/// The parts of a chunked ladder to join.
public struct LadderStitchRequest: Sendable {
    /// The video part folders (`ladder --chunk`), in order.
    public var videoParts: [String]
    /// The audio part folder (`ladder --audio-only`), if the recording has audio.
    public var audio: String?
    /// The ladder folder to write.
    public var output: String
    public init(videoParts: [String], audio: String?, output: String) {
        self.videoParts = videoParts; self.audio = audio; self.output = output
    }
}

public struct LadderStitchResult: Encodable, Sendable {
    public struct Rung: Encodable, Sendable {
        public var name: String
        public var width: Int
        public var height: Int
        public var frameRate: Double
        public var frames: Int
        public var segments: Int
        public var bandwidth: Int
        public var averageBandwidth: Int
        public var videoPeakBitrate: Int
        public var videoAverageBitrate: Int
        public var codecs: String
        public var playlist: String
        public var iFramePlaylist: String
    }
    public struct Audio: Encodable, Sendable {
        public var codec: String
        public var peakBitrate: Int
        public var averageBitrate: Int
        public var segments: Int
        public var playlist: String
    }
    public var parts: [String]
    public var audioPart: String?
    public var output: String
    public var master: String
    public var ladder: String
    public var format: String
    public var duration: Double
    public var rungs: [Rung]
    public var audio: Audio?
    public var bytes: Int
    public var seconds: Double
}

/// Joins a chunked ladder's parts into one ladder folder: each rung's segments from every part
/// (hard-linked, or copied across file systems) under the rung's folder, its media and I-frame
/// playlists written over them, the audio rendition from the audio part, and the master
/// playlist from the measured segment rates, as `LadderEngine` writes them. Nothing is
/// re-encoded or re-muxed: the parts already hold the whole ladder's segments (numbers, times,
/// IDR grid). It refuses parts of another recording or of another ladder definition (each
/// part's `chunk.json` records both), a missing audio part when the recording has audio, an
/// output at, inside or around a part folder, a gap, an overlap, a missing segment, rungs
/// differing between parts or init segments that are not interchangeable, with one line naming
/// the part folder, before anything is written. The ladder is made in a hidden folder and renamed into place.
public enum LadderStitcher {
    static let tolerance = 1e-3

    public static func run(_ r: LadderStitchRequest) throws -> LadderStitchResult {
        let started = Date()
        guard !r.videoParts.isEmpty else { throw CutError(.badPart, path: r.output, detail: "no video part to stitch") }
        guard Set(r.videoParts).count == r.videoParts.count else {
            throw CutError(.badPart, path: r.output, detail: "a video part is listed twice")
        }
        try checkOutputApart(r.output, parts: r.videoParts + (r.audio.map { [$0] } ?? []))
        let parts = try r.videoParts.map { (path: $0, manifest: try LadderChunkManifest.read($0)) }
        let first = parts[0].manifest
        var previousEnd = 0.0
        for (n, (path, m)) in parts.enumerated() {
            guard let start = m.start, let end = m.end, m.firstSegment != nil else {
                throw CutError(.badPart, path: path, detail: "is an audio part, not a video part (give it with --audio)")
            }
            try checkSameOrigin(m, path: path, as: first, of: parts[0].path)
            guard m.hasAudio == first.hasAudio else {
                throw CutError(.badPart, path: path, detail: "says the recording \(m.hasAudio == true ? "has" : "has no") audio, "
                               + "\(parts[0].path) that it \(first.hasAudio == true ? "has" : "has none"): not parts of one recording")
            }
            guard m.rungs.map(rungKey) == first.rungs.map(rungKey) else {
                throw CutError(.badPart, path: path, detail: "its rungs (\(m.rungs.map(rungKey).joined(separator: ", "))) differ from "
                               + "\(parts[0].path)'s (\(first.rungs.map(rungKey).joined(separator: ", ")))")
            }
            if start > previousEnd + tolerance {
                throw CutError(.badPart, path: path, detail: n == 0
                    ? String(format: "starts at %.3f s, not 0: the part before it is missing", start)
                    : String(format: "starts at %.3f s, but %@ ends at %.3f s: a gap (a missing part)", start, parts[n - 1].path, previousEnd))
            }
            if start < previousEnd - tolerance {
                throw CutError(.badPart, path: path, detail: String(format: "starts at %.3f s, before %@ ends (%.3f s): the parts overlap",
                                                                  start, parts[n - 1].path, previousEnd))
            }
            previousEnd = end
        }
        guard abs(previousEnd - first.duration) < tolerance else {
            throw CutError(.badPart, path: parts[parts.count - 1].path,
                           detail: String(format: "ends at %.3f s, before the output's end (%.3f s): the part after it is missing", previousEnd, first.duration))
        }
        let isTS = first.format == "ts"

        // Each rung's segments, numbered on from part to part, every file there.
        var playlists: [String: MediaPlaylist] = [:]
        var sources: [String: [(from: URL, name: String)]] = [:]
        var frames: [String: Int] = [:]
        for rung in first.rungs {
            var combined: MediaPlaylist? = nil
            var files: [(from: URL, name: String)] = []
            var next = 0
            var firstInit: [UInt8]? = nil
            for (path, _) in parts {
                let folder = URL(fileURLWithPath: path).appendingPathComponent(rung.name)
                let media = try partPlaylist(path, rendition: rung.name)
                for s in media.segments {
                    let wanted = LadderChunkEncoder.segmentName(next, isTS: isTS)
                    guard s.uri == wanted else {
                        throw CutError(.badPart, path: path, detail: "\(rung.name): holds \(s.uri) where \(wanted) comes next (a missing or extra segment)")
                    }
                    guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(s.uri).path) else {
                        throw CutError(.badPart, path: path, detail: "\(rung.name)/\(s.uri) is missing")
                    }
                    files.append((folder.appendingPathComponent(s.uri), s.uri))
                    next += 1
                }
                if let map = media.mapURI {
                    guard let bytes = FileManager.default.contents(atPath: folder.appendingPathComponent(map).path) else {
                        throw CutError(.badPart, path: path, detail: "\(rung.name)/\(map) is missing")
                    }
                    if let reference = firstInit {
                        guard InitSegment.interchangeable(reference, [UInt8](bytes)) else {
                            throw CutError(.badPart, path: path, detail: "\(rung.name)/\(map) differs from \(parts[0].path)'s (not the same encode settings)")
                        }
                    } else {
                        firstInit = [UInt8](bytes)
                        files.append((folder.appendingPathComponent(map), map))
                    }
                }
                if var c = combined {
                    c.segments += media.segments
                    c.targetDuration = max(c.targetDuration, media.targetDuration)
                    combined = c
                } else {
                    combined = media
                }
            }
            guard var playlist = combined else { continue }
            playlist.mediaSequence = 0
            playlist.endList = true
            playlists[rung.name] = playlist
            sources[rung.name] = files
            frames[rung.name] = parts.reduce(0) { $0 + ($1.manifest.rungs.first { $0.name == rung.name }?.frames ?? 0) }
        }

        // The audio part: the same ladder's, whole.
        var audioManifest: LadderChunkManifest.Audio? = nil
        if let audio = r.audio {
            let m = try LadderChunkManifest.read(audio)
            guard let a = m.audio, m.start == nil else {
                throw CutError(.badPart, path: audio, detail: "is not an audio part (it holds video segments)")
            }
            try checkSameOrigin(m, path: audio, as: first, of: parts[0].path)
            let folder = URL(fileURLWithPath: audio).appendingPathComponent("audio")
            let media = try partPlaylist(audio, rendition: "audio")
            for uri in media.segments.map(\.uri) + (media.mapURI.map { [$0] } ?? []) {
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(uri).path) else {
                    throw CutError(.badPart, path: audio, detail: "audio/\(uri) is missing")
                }
            }
            audioManifest = a
        } else if first.hasAudio != false {
            // Without its audio part, a recording with audio would become a silent ladder.
            throw CutError(.badPart, path: parts[0].path, detail: "is a part of a recording with audio, but no audio part is given "
                           + "(--audio \(LadderChunkEncoder.audioPartFolder(output: r.output)), from ladder --audio-only); the ladder would be silent")
        }

        // Everything checked: build the ladder beside its final name.
        let final = try LadderEngine.checkOutputFolder(r.output)
        let work = try LadderEngine.makeWorkFolder(beside: final, path: r.output)
        defer { LadderEngine.removeWorkFolder(work) }
        do {
            for rung in first.rungs {
                let folder = work.appendingPathComponent(rung.name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
                try placeSegments(sources[rung.name] ?? [], in: folder, rung: rung.name, parts: r.videoParts, isTS: isTS)
                try Data(playlists[rung.name]!.render().utf8).write(to: folder.appendingPathComponent("index.m3u8"))
            }
            if let audio = r.audio {
                let from = URL(fileURLWithPath: audio).appendingPathComponent("audio")
                let folder = work.appendingPathComponent("audio")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
                for name in try FileManager.default.contentsOfDirectory(atPath: from.path) where !name.hasPrefix(".") {
                    try place(from.appendingPathComponent(name), at: folder.appendingPathComponent(name))
                }
            }
        } catch let e as CutError {
            throw e
        } catch {
            throw CutError(.unwritableOutput, path: r.output, detail: "can't write the ladder: \(error.localizedDescription)")
        }

        // Playlists and master as the whole ladder writes them, from the segments measured here.
        var audioRates = (peak: 0, average: 0)
        var audioResult: LadderStitchResult.Audio? = nil
        if let a = audioManifest {
            let measured = try LadderEngine.measureAudio(work.appendingPathComponent("audio"), path: r.output)
            audioRates = measured.rates
            audioResult = .init(codec: a.codec, peakBitrate: audioRates.peak, averageBitrate: audioRates.average,
                                segments: measured.segments, playlist: "audio/index.m3u8")
        }
        var variants: [MasterPlaylist.Variant] = []
        var rungs: [LadderStitchResult.Rung] = []
        for rung in first.rungs {
            let measured = try LadderEngine.measureRung(work.appendingPathComponent(rung.name), name: rung.name, width: rung.width,
                                                        height: rung.height, frameRate: rung.frameRate, videoCodec: rung.videoCodec,
                                                        audioCodec: audioManifest?.codec, audioRates: audioRates, isTS: isTS, path: r.output)
            variants.append(measured.variant)
            rungs.append(.init(name: rung.name, width: rung.width, height: rung.height, frameRate: rung.frameRate,
                               frames: frames[rung.name] ?? 0, segments: measured.segments, bandwidth: measured.variant.bandwidth,
                               averageBandwidth: measured.variant.averageBandwidth, videoPeakBitrate: measured.rates.peak,
                               videoAverageBitrate: measured.rates.average, codecs: measured.variant.codecs,
                               playlist: measured.variant.uri, iFramePlaylist: "\(rung.name)/iframes.m3u8"))
        }
        try LadderEngine.writeMaster(work, isTS: isTS, audioChannels: audioManifest?.channels, variants: variants)
        let bytes = LadderEngine.folderBytes(work)
        try LadderEngine.publish(work, as: final, path: r.output)
        return LadderStitchResult(parts: r.videoParts, audioPart: r.audio, output: final.path,
                                  master: final.appendingPathComponent("master.m3u8").path, ladder: first.ladder, format: first.format,
                                  duration: first.duration, rungs: rungs, audio: audioResult, bytes: bytes,
                                  seconds: Date().timeIntervalSince(started))
    }

    /// Whether `parts` name ladder part folders (what `reprise stitch` joins as a ladder): any
    /// of them is a folder, or named as a ladder part is (a missing one is then refused by name).
    public static func areLadderParts(_ parts: [String]) -> Bool {
        parts.contains { path in
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) { return isDir.boolValue }
            let name = (path as NSString).lastPathComponent
            return name.contains(".chunk-") && (name as NSString).pathExtension.isEmpty
        }
    }

    /// Refuses a part made from another recording than `first` (file name, size, modification
    /// time), from another ladder (name, format, segment and GOP seconds, length) or from another
    /// definition of it (its fingerprint: rungs, codecs, rates, options), or one that records none
    /// of these (made before parts recorded them).
    static func checkSameOrigin(_ m: LadderChunkManifest, path: String, as first: LadderChunkManifest, of firstPath: String) throws {
        guard let recording = m.recording, let fingerprint = m.ladderFingerprint, m.start == nil || m.hasAudio != nil else {
            throw CutError(.badPart, path: path, detail: "\(LadderChunkManifest.fileName) records no recording or ladder fingerprint "
                           + "(made by an earlier reprise): encode the part again")
        }
        // `first` passed this check itself, or is the part checked.
        guard let firstRecording = first.recording, recording.isSameFile(as: firstRecording) else {
            throw CutError(.badPart, path: path, detail: "was made from another recording (\(recording)) than \(firstPath) "
                           + "(\(first.recording.map(String.init(describing:)) ?? "-")); not parts of one ladder")
        }
        guard m.ladder == first.ladder, m.format == first.format, abs(m.segmentSeconds - first.segmentSeconds) < tolerance,
              abs(m.gopSeconds - first.gopSeconds) < tolerance, abs(m.duration - first.duration) < tolerance else {
            throw CutError(.badPart, path: path, detail: String(format: "is a part of another ladder (%@, %@, %g s segments, %g s GOPs, %.3f s long), not of %@'s (%@, %@, %g s, %g s, %.3f s)",
                                                              m.ladder, m.format, m.segmentSeconds, m.gopSeconds, m.duration, firstPath,
                                                              first.ladder, first.format, first.segmentSeconds, first.gopSeconds, first.duration))
        }
        guard fingerprint == first.ladderFingerprint else {
            throw CutError(.badPart, path: path, detail: "was encoded from another definition of ladder \(m.ladder) (fingerprint \(fingerprint)) "
                           + "than \(firstPath) (\(first.ladderFingerprint ?? "-")): the ladder file changed between the parts; encode them again")
        }
    }

    /// Refuses an output that is a part folder, is inside one or holds one: the parts are removed
    /// once stitched (taking the ladder with them), and a part inside the output would go with
    /// the folder the ladder replaces.
    static func checkOutputApart(_ output: String, parts: [String]) throws {
        let out = resolved(output)
        for part in parts {
            let p = resolved(part)
            if out == p || out.hasPrefix(p + "/") {
                throw CutError(.badPart, path: part, detail: "holds the output \(output): the ladder would be removed with its parts; "
                               + "give the ladder a folder outside them")
            }
            if p.hasPrefix(out + "/") {
                throw CutError(.badPart, path: part, detail: "is inside the output \(output), which the ladder replaces; give the ladder another folder")
            }
        }
    }

    /// `path` absolute with symlinks resolved (its parent's, when it does not exist yet), so two
    /// names of one folder compare equal.
    static func resolved(_ path: String) -> String {
        func real(_ p: String) -> String? { realpath(p, nil).map { r in defer { free(r) }; return String(cString: r) } }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let r = real(url.path) { return r }
        if let parent = real(url.deletingLastPathComponent().path) { return (parent as NSString).appendingPathComponent(url.lastPathComponent) }
        return url.path
    }

    /// A part's media playlist of `rendition`, read as the ladder reads its own.
    static func partPlaylist(_ part: String, rendition: String) throws -> MediaPlaylist {
        let url = URL(fileURLWithPath: part).appendingPathComponent(rendition).appendingPathComponent("index.m3u8")
        guard let media = try? LadderEngine.readPlaylist(url, path: part) else {
            throw CutError(.badPart, path: part, detail: "\(rendition)/index.m3u8 is missing or holds no segment")
        }
        return media
    }

    static func rungKey(_ r: LadderChunkManifest.Rung) -> String { "\(r.name) \(r.width)x\(r.height) \(r.videoCodec)" }

    /// A rung's files from every part into `folder`: linked (see `place`), except MPEG-TS segments
    /// after the first part, whose continuity counters restart at the join (each part had its own
    /// muxer): those are written renumbered to continue the part before, the part's files left as
    /// they are. A TS segment that is not whole 188-byte packets is refused, naming it.
    static func placeSegments(_ files: [(from: URL, name: String)], in folder: URL, rung: String, parts: [String], isTS: Bool) throws {
        guard isTS else {
            for f in files { try place(f.from, at: folder.appendingPathComponent(f.name)) }
            return
        }
        var continuity = TSContinuity()
        var currentPart: URL? = nil
        for f in files {
            let source = f.from.deletingLastPathComponent()
            if source != currentPart {
                continuity.startPart()
                currentPart = source
            }
            let part = parts.first { URL(fileURLWithPath: $0).appendingPathComponent(rung) == source } ?? source.deletingLastPathComponent().path
            guard let data = FileManager.default.contents(atPath: f.from.path) else {
                throw CutError(.badPart, path: part, detail: "\(rung)/\(f.name) can't be read")
            }
            var bytes = [UInt8](data)
            do {
                if try continuity.renumber(&bytes) {
                    try Data(bytes).write(to: folder.appendingPathComponent(f.name))
                    continue
                }
            } catch let e as TSContinuity.Malformed {
                throw CutError(.badPart, path: part, detail: "\(rung)/\(f.name) \(e.description)")
            }
            try place(f.from, at: folder.appendingPathComponent(f.name))
        }
    }

    /// A hard link (the parts stay whole until the daemon removes them), or a copy across file systems.
    static func place(_ from: URL, at to: URL) throws {
        do { try FileManager.default.linkItem(at: from, to: to) } catch {
            try FileManager.default.copyItem(at: from, to: to)
        }
    }
}
