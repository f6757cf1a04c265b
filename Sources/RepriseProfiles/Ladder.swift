import Foundation
import Yams

/// An adaptive-bitrate ladder (`Profiles/ladder-*.yaml`): the rungs an HLS replay offers, one
/// audio rendition shared by all, and the keyframe and segment grid every rung follows.
public struct Ladder: Equatable, Sendable {
    public enum SegmentFormat: String, CaseIterable, Sendable { case fmp4, ts }

    public struct Rung: Equatable, Sendable {
        /// Folder name of the rung in the output ("1080p", or the file's `name:`).
        public var name: String
        /// Size is a box: the source is fitted inside it (aspect kept); rate fields as in profiles.
        public var video: Profile.Video
    }

    public var name: String
    public var description: String
    public var rungs: [Rung]
    public var audio: Profile.Audio
    public var segmentSeconds: Double = 6
    /// IDR interval, the same in every rung; segments hold whole GOPs.
    public var gopSeconds: Double = 2
    public var format: SegmentFormat = .fmp4
    /// Whether the top rung may be the source's own frames when the source fits it (`reuse: auto`).
    public var reuse = true
    public var source: String
}

/// Reads one ladder file. Every problem names the file, the line, the field and what is allowed.
public enum LadderLoader {
    public static func load(path: String) throws -> Ladder {
        let r = try ProfileReader.open(path: path, what: "ladder fields")
        try r.rejectUnknown(["name", "description", "segment_seconds", "gop_seconds", "format", "video", "rungs", "audio", "reuse"])
        let defaultName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension

        // Defaults every rung starts from.
        var base = Profile.Video(width: 2, height: 2)
        if let v = try r.section("video") {
            try v.rejectUnknown(["codec", "profile", "max_fps", "encoder_options"])
            base.codec = try v.choice("codec", Profile.VideoCodec.self) ?? .h264
            base.profile = try v.string("profile")
            base.maxFrameRate = try v.number("max_fps", range: 1...240)
            base.encoderOptions = try v.options("encoder_options")
        }
        let gop = try r.number("gop_seconds", range: 0.5...10) ?? 2
        base.gopSeconds = gop
        let segment = try r.number("segment_seconds", range: 1...30) ?? 6
        if (segment / gop).rounded() != segment / gop {
            throw r.error("segment_seconds", r.node("segment_seconds"), "must be a whole number of GOPs (gop_seconds \(gop))")
        }

        guard let rungsNode = r.node("rungs") else { throw r.error("rungs", nil, "missing (a list of width, height, bitrate)") }
        guard let list = rungsNode.sequence, !list.isEmpty else { throw r.error("rungs", rungsNode, "expected a list of rungs") }
        var rungs: [Ladder.Rung] = []
        for (n, item) in list.enumerated() {
            guard let m = item.mapping else { throw r.error("rungs[\(n)]", item, "expected a mapping (width, height, bitrate…)") }
            let w = ProfileReader(file: path, mapping: m, prefix: "rungs[\(n)].")
            try w.rejectUnknown(["name", "width", "height", "bitrate", "max_bitrate", "buffer", "profile", "encoder_options"])
            guard let width = try w.integer("width", range: 16...7680) else { throw w.error("width", item, "missing (16…7680)") }
            guard let height = try w.integer("height", range: 16...7680) else { throw w.error("height", item, "missing (16…7680)") }
            if width % 2 != 0 { throw w.error("width", w.node("width"), "must be even for 4:2:0 video") }
            if height % 2 != 0 { throw w.error("height", w.node("height"), "must be even for 4:2:0 video") }
            guard let bitrate = try w.bitrate("bitrate") else { throw w.error("bitrate", item, "missing (e.g. 3000k)") }
            var video = base
            video.width = width; video.height = height; video.fit = .pad
            video.bitrate = bitrate
            video.maxBitrate = try w.bitrate("max_bitrate") ?? bitrate * 3 / 2
            if let m = video.maxBitrate, m > 2 * bitrate {
                throw w.error("max_bitrate", w.node("max_bitrate"), "is more than twice the bitrate (\(bitrate)); HLS rungs keep peaks within 2× the average")
            }
            if let m = video.maxBitrate, m < bitrate {
                throw w.error("max_bitrate", w.node("max_bitrate"), "is below the bitrate (\(bitrate))")
            }
            video.bufferSize = try w.bitrate("buffer") ?? video.maxBitrate
            video.profile = try w.string("profile") ?? base.profile
            for (k, v) in try w.options("encoder_options") { video.encoderOptions[k] = v }
            rungs.append(Ladder.Rung(name: try w.string("name") ?? "\(height)p", video: video))
        }
        if Set(rungs.map(\.name)).count != rungs.count {
            throw r.error("rungs", rungsNode, "two rungs have the same name (give each a distinct name:)")
        }

        var audio = Profile.Audio()
        if let a = try r.section("audio") {
            try a.rejectUnknown(["codec", "sample_rate", "channels", "bitrate"])
            audio.codec = try a.choice("codec", Profile.AudioCodec.self) ?? .aac
            audio.sampleRate = try a.integer("sample_rate", range: 8000...96000) ?? 48000
            audio.channels = try a.integer("channels", range: 1...8) ?? 2
            audio.bitrate = try a.bitrate("bitrate") ?? 128_000
        }
        var ladder = Ladder(name: try r.string("name") ?? defaultName, description: try r.string("description") ?? "",
                            rungs: rungs, audio: audio, source: path)
        ladder.gopSeconds = gop
        ladder.segmentSeconds = segment
        ladder.format = try r.choice("format", Ladder.SegmentFormat.self) ?? .fmp4
        if let reuse = try r.string("reuse") {
            guard reuse == "auto" || reuse == "never" else { throw r.error("reuse", r.node("reuse"), "must be auto or never") }
            ladder.reuse = reuse == "auto"
        }
        return ladder
    }
}

/// The ladders a user can name: `ladder-*.yaml` in the same folders as profiles, later folders
/// overriding earlier ones by name.
public struct LadderLibrary: Sendable {
    public private(set) var ladders: [String: Ladder] = [:]

    public init(folders: [String]) throws {
        for folder in folders {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where name.hasPrefix("ladder-") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) {
                let ladder = try LadderLoader.load(path: (folder as NSString).appendingPathComponent(name))
                ladders[ladder.name] = ladder
            }
        }
    }

    public func ladder(named name: String) -> Ladder? { ladders[name] ?? ladders["ladder-" + name] }
}

extension ProfileReader {
    /// `name: value` text pairs (encoder options).
    func options(_ key: String) throws -> [String: String] {
        guard let opts = try section(key) else { return [:] }
        var out: [String: String] = [:]
        for (k, val) in opts.mapping {
            guard let name = k.string, let value = val.string else {
                throw opts.error(k.string, val, "encoder options are text: name: value")
            }
            out[name] = value
        }
        return out
    }
}
