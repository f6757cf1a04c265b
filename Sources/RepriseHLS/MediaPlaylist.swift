import Foundation

/// An HLS media playlist (RFC 8216 §4.3.3), read or written. Only what VOD ladders use.
public struct MediaPlaylist: Equatable, Sendable {
    public struct Segment: Equatable, Sendable {
        public var duration: Double
        public var uri: String
        /// Byte range within `uri` (I-frame playlists): length and offset.
        public var byteRange: (length: Int, offset: Int)?
        public init(duration: Double, uri: String, byteRange: (length: Int, offset: Int)? = nil) {
            self.duration = duration; self.uri = uri; self.byteRange = byteRange
        }
        public static func == (a: Segment, b: Segment) -> Bool {
            a.duration == b.duration && a.uri == b.uri && a.byteRange?.length == b.byteRange?.length
                && a.byteRange?.offset == b.byteRange?.offset
        }
    }

    public var version = 3
    public var targetDuration = 0
    public var mediaSequence = 0
    public var playlistType: String?
    public var independentSegments = false
    public var iFramesOnly = false
    public var mapURI: String?
    public var segments: [Segment] = []
    public var endList = false

    public init() {}

    public var totalDuration: Double { segments.reduce(0) { $0 + $1.duration } }

    /// Parses the playlist text; lines it does not know are skipped (RFC 8216: clients ignore them).
    public static func parse(_ text: String) -> MediaPlaylist? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "#EXTM3U" else { return nil }
        var p = MediaPlaylist()
        var duration: Double?
        var range: (Int, Int)?
        var nextOffset = 0
        for line in lines.dropFirst() where !line.isEmpty {
            func value(_ tag: String) -> String? { line.hasPrefix(tag) ? String(line.dropFirst(tag.count)) : nil }
            if let v = value("#EXT-X-VERSION:") { p.version = Int(v) ?? 0 }
            else if let v = value("#EXT-X-TARGETDURATION:") { p.targetDuration = Int(v) ?? -1 }
            else if let v = value("#EXT-X-MEDIA-SEQUENCE:") { p.mediaSequence = Int(v) ?? -1 }
            else if let v = value("#EXT-X-PLAYLIST-TYPE:") { p.playlistType = v }
            else if line == "#EXT-X-INDEPENDENT-SEGMENTS" { p.independentSegments = true }
            else if line == "#EXT-X-I-FRAMES-ONLY" { p.iFramesOnly = true }
            else if line == "#EXT-X-ENDLIST" { p.endList = true }
            else if let v = value("#EXT-X-MAP:") { p.mapURI = AttributeList.parse(v)["URI"] }
            else if let v = value("#EXTINF:") { duration = Double(v.split(separator: ",").first ?? "") }
            else if let v = value("#EXT-X-BYTERANGE:") {
                let parts = v.split(separator: "@").compactMap { Int($0) }
                guard let length = parts.first else { return nil }
                let offset = parts.count > 1 ? parts[1] : nextOffset
                let (end, overflow) = offset.addingReportingOverflow(length)
                guard !overflow else { return nil }
                range = (length, offset)
                nextOffset = end
            } else if !line.hasPrefix("#") {
                guard let d = duration else { return nil }
                p.segments.append(Segment(duration: d, uri: line, byteRange: range))
                duration = nil; range = nil
            }
        }
        return p
    }

    /// The playlist text.
    public func render() -> String {
        var out = ["#EXTM3U", "#EXT-X-VERSION:\(version)", "#EXT-X-TARGETDURATION:\(targetDuration)",
                   "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)"]
        if let t = playlistType { out.append("#EXT-X-PLAYLIST-TYPE:\(t)") }
        if independentSegments { out.append("#EXT-X-INDEPENDENT-SEGMENTS") }
        if iFramesOnly { out.append("#EXT-X-I-FRAMES-ONLY") }
        if let m = mapURI { out.append("#EXT-X-MAP:URI=\"\(m)\"") }
        for s in segments {
            out.append(String(format: "#EXTINF:%.6f,", s.duration))
            if let r = s.byteRange { out.append("#EXT-X-BYTERANGE:\(r.length)@\(r.offset)") }
            out.append(s.uri)
        }
        if endList { out.append("#EXT-X-ENDLIST") }
        return out.joined(separator: "\n") + "\n"
    }

    /// EXT-X-TARGETDURATION as RFC 8216 §4.3.3.1 defines it: every EXTINF rounded to the nearest
    /// integer is at most this.
    public static func targetDuration(for durations: [Double]) -> Int {
        max(1, durations.map { Int($0.rounded()) }.max() ?? 1)
    }
}

/// `KEY=VALUE,KEY="quoted, value"` attribute lists (RFC 8216 §4.2).
public enum AttributeList {
    public static func parse(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var key = "", value = "", inKey = true, quoted = false
        func flush() {
            if !key.isEmpty { out[key.trimmingCharacters(in: .whitespaces)] = value }
            key = ""; value = ""; inKey = true
        }
        for c in text {
            if inKey {
                if c == "=" { inKey = false } else if c != "," { key.append(c) }
            } else if c == "\"" {
                quoted.toggle()
            } else if c == "," && !quoted {
                flush()
            } else {
                value.append(c)
            }
        }
        flush()
        return out
    }
}
