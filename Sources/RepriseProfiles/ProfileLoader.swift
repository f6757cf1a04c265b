import Foundation
import Yams

/// Reads one profile file. Every problem names the file, the line, the field and what is allowed.
public enum ProfileLoader {
    public static func load(path: String) throws -> Profile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError(file: path, line: nil, field: nil, problem: "can't read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw ProfileError(file: path, line: e.line, field: nil, problem: "not valid YAML (\(e.problem))")
        }
        guard let root = node, let mapping = root.mapping else {
            throw ProfileError(file: path, line: node?.mark?.line, field: nil, problem: "expected a mapping of profile fields")
        }
        let defaultName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try ProfileReader(file: path, mapping: mapping, prefix: "").profile(defaultName: defaultName)
    }
}

extension YamlError {
    var line: Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }
    var problem: String {
        switch self {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(self)"
        }
    }
}

/// Walks one YAML mapping, remembering which keys were used so unknown ones are reported.
struct ProfileReader {
    /// Reads `path` as a YAML mapping of `what` (e.g. "ladder fields"); errors name the file and line.
    static func open(path: String, what: String) throws -> ProfileReader {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError(file: path, line: nil, field: nil, problem: "can't read the file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch let e as YamlError {
            throw ProfileError(file: path, line: e.line, field: nil, problem: "not valid YAML (\(e.problem))")
        }
        guard let root = node, let mapping = root.mapping else {
            throw ProfileError(file: path, line: node?.mark?.line, field: nil, problem: "expected a mapping of \(what)")
        }
        return ProfileReader(file: path, mapping: mapping, prefix: "")
    }

    let file: String
    let mapping: Node.Mapping
    let prefix: String

    func error(_ key: String?, _ node: Node?, _ problem: String) -> ProfileError {
        ProfileError(file: file, line: (node ?? nil)?.mark?.line ?? mapping.mark?.line,
                     field: key.map { prefix + $0 }, problem: problem)
    }

    func rejectUnknown(_ allowed: [String]) throws {
        for (k, _) in mapping {
            guard let key = k.string else { throw error(nil, k, "field names must be text") }
            if !allowed.contains(key) {
                throw error(key, k, "unknown field (allowed here: \(allowed.joined(separator: ", ")))")
            }
        }
    }

    func node(_ key: String) -> Node? { mapping[Node.scalar(.init(key))] }

    func string(_ key: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard let s = n.string else { throw error(key, n, "expected text") }
        return s
    }

    func number(_ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let n = node(key) else { return nil }
        guard let v = n.float ?? n.int.map(Double.init) else { throw error(key, n, "expected a number") }
        guard range.contains(v) else { throw error(key, n, "\(v) is out of range (allowed \(range.lowerBound)…\(range.upperBound))") }
        return v
    }

    func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let n = node(key) else { return nil }
        guard let v = n.int else { throw error(key, n, "expected a whole number") }
        guard range.contains(v) else { throw error(key, n, "\(v) is out of range (allowed \(range.lowerBound)…\(range.upperBound))") }
        return v
    }

    func bool(_ key: String) throws -> Bool? {
        guard let n = node(key) else { return nil }
        guard let v = n.bool else { throw error(key, n, "expected true or false") }
        return v
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let v = T(rawValue: s) else {
            throw error(key, node(key), "'\(s)' is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    /// Bits per second: a number, or text such as "900k", "6M".
    func bitrate(_ key: String) throws -> Int? {
        guard let n = node(key) else { return nil }
        // At most 10^15, so that no user of the value (×2 for buffers, sums with reserves) overflows.
        let limit = 1_000_000_000_000_000
        if let v = n.int, v > 0 {
            guard v <= limit else { throw error(key, n, "\(v) is out of range (allowed 1…\(limit))") }
            return v
        }
        if let s = n.string {
            let units: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9]
            var digits = s
            var scale = 1.0
            if let last = s.last, let u = units[last] { scale = u; digits = String(s.dropLast()) }
            if let v = Double(digits), v > 0 {
                guard v * scale <= Double(limit) else { throw error(key, n, "\(s) is out of range (allowed 1…\(limit))") }
                return Int(v * scale)
            }
        }
        throw error(key, n, "expected a bitrate such as 900k or 6M")
    }

    func section(_ key: String) throws -> ProfileReader? {
        guard let n = node(key) else { return nil }
        guard let m = n.mapping else { throw error(key, n, "expected a mapping") }
        return ProfileReader(file: file, mapping: m, prefix: prefix + key + ".")
    }

    func profile(defaultName: String) throws -> Profile {
        try rejectUnknown(["name", "description", "container", "video", "audio", "duration", "chapters", "reuse"])
        guard let v = try section("video") else { throw error("video", nil, "missing (width and height at least)") }
        try v.rejectUnknown(["codec", "profile", "width", "height", "fit", "max_fps", "quality", "bitrate",
                             "max_bitrate", "buffer", "gop_seconds", "upscale", "encoder_options", "reuse"]
                            + ["size", "bit_depth", "hdr"])
        guard let width = try v.integer("width", range: 16...7680) else { throw v.error("width", nil, "missing (16…7680)") }
        guard let height = try v.integer("height", range: 16...7680) else { throw v.error("height", nil, "missing (16…7680)") }
        if width % 2 != 0 { throw v.error("width", v.node("width"), "must be even for 4:2:0 video") }
        if height % 2 != 0 { throw v.error("height", v.node("height"), "must be even for 4:2:0 video") }
        var video = Profile.Video(width: width, height: height)
        video.codec = try v.choice("codec", Profile.VideoCodec.self) ?? .h264
        video.profile = try v.string("profile")
        video.fit = try v.choice("fit", Profile.Fit.self) ?? .pad
        video.maxFrameRate = try v.number("max_fps", range: 1...240)
        video.quality = try v.number("quality", range: 0...63)
        video.bitrate = try v.bitrate("bitrate")
        video.maxBitrate = try v.bitrate("max_bitrate")
        video.bufferSize = try v.bitrate("buffer")
        video.gopSeconds = try v.number("gop_seconds", range: 0.1...20) ?? 2
        video.upscale = try v.bool("upscale") ?? false
        if video.quality == nil && video.bitrate == nil {
            throw v.error("quality", nil, "give quality (CRF) or bitrate")
        }
        if let opts = try v.section("encoder_options") {
            for (k, val) in opts.mapping {
                guard let key = k.string, let value = val.string else {
                    throw opts.error(k.string, val, "encoder options are text: name: value")
                }
                video.encoderOptions[key] = value
            }
        }
        try readSizeAndColour(v, into: &video)

        var audio = Profile.Audio()
        if let a = try section("audio") {
            try a.rejectUnknown(["codec", "sample_rate", "channels", "bitrate", "loudness", "true_peak"])
            audio.codec = try a.choice("codec", Profile.AudioCodec.self) ?? .aac
            audio.sampleRate = try a.integer("sample_rate", range: 8000...96000) ?? 48000
            audio.channels = try a.integer("channels", range: 1...8) ?? 2
            audio.bitrate = try a.bitrate("bitrate") ?? 128_000
            audio.loudness = try a.number("loudness", range: -70 ... -5)
            audio.truePeak = try a.number("true_peak", range: -9...0) ?? -1
        }

        var profile = Profile(name: try string("name") ?? defaultName, description: try string("description") ?? "",
                              video: video, audio: audio, source: file)
        profile.container = try choice("container", Profile.Container.self) ?? .mp4
        profile.chapters = try bool("chapters") ?? false
        if let d = try section("duration") {
            try d.rejectUnknown(["min", "max"])
            profile.minDuration = try d.number("min", range: 0...86400)
            profile.maxDuration = try d.number("max", range: 0.1...86400)
            if let lo = profile.minDuration, let hi = profile.maxDuration, lo > hi {
                throw d.error("min", d.node("min"), "is longer than max (\(hi))")
            }
        }
        // `reuse` may sit at the top or under `video:` (it is about the video), not both.
        let reuseTop = try choice("reuse", Profile.Reuse.self), reuseVideo = try v.choice("reuse", Profile.Reuse.self)
        if reuseTop != nil && reuseVideo != nil { throw v.error("reuse", v.node("reuse"), "given twice (top level and under video)") }
        profile.reuse = reuseTop ?? reuseVideo ?? .never
        return profile
    }

    /// `size`, `bit_depth` and `hdr`, checked against each other and the codec.
    func readSizeAndColour(_ v: ProfileReader, into video: inout Profile.Video) throws {
        video.size = try v.choice("size", Profile.Size.self) ?? .atMost
        if video.size == .exact, try v.bool("upscale") == false {
            throw v.error("upscale", v.node("upscale"), "is false, but size: exact scales up when the source is smaller (remove one)")
        }
        if let depth = try v.integer("bit_depth", range: 8...10) {
            guard depth == 8 || depth == 10 else { throw v.error("bit_depth", v.node("bit_depth"), "\(depth) is not one of: 8, 10") }
            video.bitDepth = depth
        }
        if video.bitDepth == 10 && video.codec == .h264 {
            throw v.error("bit_depth", v.node("bit_depth"), "10-bit output needs codec hevc or av1 (H.264 High 10 plays almost nowhere)")
        }
        if let p = video.profile?.lowercased() {
            if video.bitDepth == 10 && !p.contains("10") {
                throw v.error("profile", v.node("profile"), "'\(p)' is an 8-bit profile but bit_depth is 10 (use main10, or leave profile out)")
            }
            if video.bitDepth == 8 && p.contains("10") {
                throw v.error("profile", v.node("profile"), "'\(p)' is a 10-bit profile; give bit_depth: 10")
            }
        }
        video.hdr = try v.choice("hdr", Profile.HDR.self) ?? .tonemap
        if video.hdr == .keep && video.bitDepth != 10 {
            throw v.error("hdr", v.node("hdr"), "keep needs bit_depth: 10 (HDR in 8 bits bands); use tonemap for 8-bit output")
        }
    }
}
