import Foundation

/// ffprobe facts about an output that `FFprobe` does not carry: pixel aspect, side data types,
/// bit rates, frame counts, the MP4 top-level box order.
enum MediaProbe {
    struct SideData: Decodable, Sendable {
        var side_data_type: String?
        var rotation: Double?
    }

    struct Stream: Decodable, Sendable {
        var index: Int
        var codec_type: String?
        var codec_name: String?
        var profile: String?
        var width: Int?
        var height: Int?
        var sample_aspect_ratio: String?
        var r_frame_rate: String?
        var avg_frame_rate: String?
        var duration: String?
        var bit_rate: String?
        var sample_rate: String?
        var channels: Int?
        var side_data_list: [SideData]?

        var durationSeconds: Double? { duration.flatMap(Double.init) }
        var bitRate: Double? { bit_rate.flatMap(Double.init) }
        /// A display matrix (rotation) is attached.
        var hasDisplayMatrix: Bool {
            side_data_list?.contains { ($0.side_data_type ?? "").lowercased().contains("display matrix") || $0.rotation != nil } ?? false
        }
    }

    struct Format: Decodable, Sendable {
        var format_name: String?
        var duration: String?
        var size: String?
        var bit_rate: String?
        var durationSeconds: Double? { duration.flatMap(Double.init) }
    }

    struct Report: Decodable, Sendable {
        var streams: [Stream]?
        var format: Format?
        var video: Stream? { streams?.first { $0.codec_type == "video" } }
        var audio: Stream? { streams?.first { $0.codec_type == "audio" } }
    }

    static func describe(_ url: URL) throws -> Report {
        let data = try Subprocess.checked("ffprobe", ["-v", "error", "-show_entries",
            "format=format_name,duration,size,bit_rate"
            + ":stream=index,codec_type,codec_name,profile,width,height,sample_aspect_ratio,r_frame_rate,"
            + "avg_frame_rate,duration,bit_rate,sample_rate,channels"
            + ":stream_side_data=side_data_type,rotation",
            "-of", "json", url.path])
        do { return try JSONDecoder().decode(Report.self, from: data) } catch {
            throw SubprocessError(description: "ffprobe JSON for \(url.path) not understood: \(error)")
        }
    }

    /// The four-character types of an MP4's top-level boxes, in file order.
    static func topLevelBoxes(_ url: URL) throws -> [String] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        var position: UInt64 = 0
        var boxes: [String] = []
        while position + 8 <= size, boxes.count < 64 {
            try handle.seek(toOffset: position)
            guard let header = try handle.read(upToCount: 16), header.count >= 8 else { break }
            let bytes = [UInt8](header)
            var length = UInt64(bytes[0]) << 24 | UInt64(bytes[1]) << 16 | UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            let type = String(decoding: bytes[4..<8], as: UTF8.self)
            if length == 1, bytes.count >= 16 {
                length = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
            } else if length == 0 {
                length = size - position
            }
            boxes.append(type)
            guard length >= 8 else { break }
            position += length
        }
        return boxes
    }
}
