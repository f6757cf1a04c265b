import Foundation

/// ffprobe as an outside witness: typed views of its JSON output.
/// (ffprobe prints most numbers as strings; the `…Seconds` helpers parse them.)
enum FFprobe {
    struct Format: Decodable, Sendable {
        var format_name: String?
        var start_time: String?
        var duration: String?
        var startSeconds: Double? { start_time.flatMap(Double.init) }
        var durationSeconds: Double? { duration.flatMap(Double.init) }
    }

    struct SideData: Decodable, Sendable {
        var rotation: Double?
    }

    struct Stream: Decodable, Sendable {
        var index: Int
        var codec_type: String?
        var codec_name: String?
        var profile: String?
        var level: Int?
        var width: Int?
        var height: Int?
        var pix_fmt: String?
        var sample_rate: String?
        var channels: Int?
        var time_base: String?
        var r_frame_rate: String?
        var avg_frame_rate: String?
        var start_time: String?
        var duration: String?
        var side_data_list: [SideData]?

        /// Display-matrix rotation in degrees as ffprobe reports it (0 when none).
        var rotation: Int { Int(side_data_list?.compactMap(\.rotation).first ?? 0) }
        var startSeconds: Double? { start_time.flatMap(Double.init) }
        var durationSeconds: Double? { duration.flatMap(Double.init) }
    }

    struct Frame: Decodable, Sendable {
        var best_effort_timestamp_time: String?
        var pkt_duration_time: String?
        var key_frame: Int?
        var pict_type: String?
        var nb_samples: Int?
        var time: Double? { best_effort_timestamp_time.flatMap(Double.init) }
        var duration: Double? { pkt_duration_time.flatMap(Double.init) }
    }

    struct Packet: Decodable, Sendable {
        var pts: Int64?
        var dts: Int64?
        var pts_time: String?
        var dts_time: String?
        var duration_time: String?
        var size: String?
        var flags: String?
        var data_hash: String?
        var data: String?
        var isKeyframe: Bool { flags?.hasPrefix("K") ?? false }
        var ptsSeconds: Double? { pts_time.flatMap(Double.init) }
        var dtsSeconds: Double? { dts_time.flatMap(Double.init) }
    }

    struct Report: Decodable, Sendable {
        var format: Format?
        var streams: [Stream]?
        var frames: [Frame]?
        var packets: [Packet]?
    }

    static func report(_ args: [String], _ url: URL) throws -> Report {
        let data = try Subprocess.checked("ffprobe", ["-v", "error"] + args + ["-of", "json", url.path])
        do {
            return try JSONDecoder().decode(Report.self, from: data)
        } catch {
            throw SubprocessError(description: "ffprobe JSON for \(url.path) not understood: \(error)")
        }
    }

    /// Container and every stream, including the rotation side data.
    static func describe(_ url: URL) throws -> Report {
        try report(["-show_entries",
                    "format=format_name,start_time,duration"
                    + ":stream=index,codec_type,codec_name,profile,level,width,height,pix_fmt,sample_rate,channels,"
                    + "time_base,r_frame_rate,avg_frame_rate,start_time,duration"
                    + ":stream_side_data=rotation"], url)
    }

    /// Every decoded frame of one stream ("v:0", "a:0"), in output (presentation) order.
    static func frames(_ url: URL, stream: String) throws -> [Frame] {
        try report(["-select_streams", stream, "-show_entries",
                    "frame=best_effort_timestamp_time,pkt_duration_time,key_frame,pict_type,nb_samples"],
                   url).frames ?? []
    }

    /// Every packet of one stream, in file (decode) order; `data` adds the hex dump of each payload.
    static func packets(_ url: URL, stream: String = "v:0", data: Bool = false) throws -> [Packet] {
        var args = ["-select_streams", stream, "-show_entries",
                    "packet=pts,dts,pts_time,dts_time,duration_time,size,flags,data_hash" + (data ? ",data" : ""),
                    "-show_data_hash", "MD5"]
        if data { args.append("-show_data") }
        return try report(args, url).packets ?? []
    }

    /// Parses ffprobe's hex dump ("00000000: 0000 0002 0910 ...  ascii") back into bytes.
    static func bytes(fromHexDump dump: String) -> Data {
        var out = Data()
        for line in dump.split(separator: "\n") {
            // Layout (ffprobe writer_print_data): "%08x: " then 41 columns of hex, then ASCII.
            let chars = Array(line.utf8)
            guard chars.count > 10 else { continue }
            let hexEnd = min(chars.count, 10 + 41)
            var nibble: UInt8? = nil
            for c in chars[10..<hexEnd] {
                let value: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = c - UInt8(ascii: "a") + 10
                default: continue
                }
                if let high = nibble { out.append(high << 4 | value); nibble = nil } else { nibble = value }
            }
        }
        return out
    }

    /// "30/1" → 30.0, "30000/1001" → 29.97; nil for "0/0".
    static func rational(_ text: String?) -> Double? {
        guard let text else { return nil }
        let parts = text.split(separator: "/").compactMap { Double($0) }
        if parts.count == 2, parts[1] != 0 { return parts[0] / parts[1] }
        if parts.count == 1 { return parts[0] }
        return nil
    }
}
