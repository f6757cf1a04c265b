import Foundation

/// The master playlist of a ladder: one audio group, a variant per rung, an I-frame variant per rung.
public struct MasterPlaylist: Sendable {
    public struct Audio: Sendable {
        public var groupID: String
        public var name: String
        public var channels: Int
        public var uri: String
        public init(groupID: String, name: String, channels: Int, uri: String) {
            self.groupID = groupID; self.name = name; self.channels = channels; self.uri = uri
        }
    }

    public struct Variant: Sendable {
        /// Peak segment bitrate, bits/s (video and audio together for a variant).
        public var bandwidth: Int
        public var averageBandwidth: Int
        public var codecs: String
        public var width: Int
        public var height: Int
        public var frameRate: Double
        public var uri: String
        public var iFrameURI: String?
        public var iFrameBandwidth: Int
        public var iFrameAverageBandwidth: Int
        public var videoCodec: String
        public init(bandwidth: Int, averageBandwidth: Int, codecs: String, videoCodec: String, width: Int, height: Int,
                    frameRate: Double, uri: String, iFrameURI: String?, iFrameBandwidth: Int, iFrameAverageBandwidth: Int) {
            self.bandwidth = bandwidth; self.averageBandwidth = averageBandwidth; self.codecs = codecs
            self.videoCodec = videoCodec; self.width = width; self.height = height; self.frameRate = frameRate
            self.uri = uri; self.iFrameURI = iFrameURI; self.iFrameBandwidth = iFrameBandwidth
            self.iFrameAverageBandwidth = iFrameAverageBandwidth
        }
    }

    public var version: Int
    public var audio: Audio?
    public var variants: [Variant]

    public init(version: Int, audio: Audio?, variants: [Variant]) {
        self.version = version; self.audio = audio; self.variants = variants
    }

    public func render() -> String {
        var out = ["#EXTM3U", "#EXT-X-VERSION:\(version)", "#EXT-X-INDEPENDENT-SEGMENTS"]
        if let a = audio {
            out.append("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"\(a.groupID)\",NAME=\"\(a.name)\",DEFAULT=YES,AUTOSELECT=YES,"
                       + "CHANNELS=\"\(a.channels)\",URI=\"\(a.uri)\"")
        }
        // Biggest picture first: players that take the first variant start with the best one.
        let ordered = variants.sorted { ($0.width * $0.height, $0.bandwidth) > ($1.width * $1.height, $1.bandwidth) }
        for v in ordered {
            var attrs = "BANDWIDTH=\(v.bandwidth),AVERAGE-BANDWIDTH=\(v.averageBandwidth),CODECS=\"\(v.codecs)\","
                + "RESOLUTION=\(v.width)x\(v.height),FRAME-RATE=\(String(format: "%.3f", v.frameRate))"
            if let a = audio { attrs += ",AUDIO=\"\(a.groupID)\"" }
            out.append("#EXT-X-STREAM-INF:" + attrs)
            out.append(v.uri)
        }
        for v in ordered {
            guard let uri = v.iFrameURI else { continue }
            out.append("#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=\(v.iFrameBandwidth),AVERAGE-BANDWIDTH=\(v.iFrameAverageBandwidth),"
                       + "CODECS=\"\(v.videoCodec)\",RESOLUTION=\(v.width)x\(v.height),URI=\"\(uri)\"")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
