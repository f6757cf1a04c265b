import Foundation

/// What a file's first video stream holds, as an outside decoder sees it: for every decoded
/// frame (presentation order) the barcode index it shows and its presentation time.
///
/// Pixels come from `ffmpeg -noautorotate … -fps_mode passthrough -f rawvideo -pix_fmt gray`
/// (so a rotated file is read as stored), times from `ffprobe -show_entries frame=…`; both
/// decode the same frames, and the counts are checked to agree.
struct VideoReadback: Sendable {
    struct Frame: Sendable {
        /// Barcode index, nil when unreadable.
        var index: Int?
        /// Presentation time in seconds, as the file stores it (edit lists applied).
        var time: Double
        /// Packet duration ffprobe reports for the frame, if any.
        var duration: Double?
    }

    var url: URL
    var frames: [Frame]
    /// The container's start time (ffprobe format start_time), 0 when absent.
    var formatStart: Double
    var format: FFprobe.Format
    var video: FFprobe.Stream

    var indices: [Int?] { frames.map(\.index) }
    /// Times measured from the container's start: what a player shows.
    var relativeTimes: [Double] { frames.map { $0.time - formatStart } }

    static func read(_ url: URL) throws -> VideoReadback {
        let description = try FFprobe.describe(url)
        guard let video = description.streams?.first(where: { $0.codec_type == "video" }),
              let width = video.width, let height = video.height else {
            throw SubprocessError(description: "\(url.path): no video stream")
        }
        let format = description.format ?? FFprobe.Format()
        let probed = try FFprobe.frames(url, stream: "v:0")
        let raw = try Subprocess.checked("ffmpeg", [
            "-hide_banner", "-v", "error", "-noautorotate", "-i", url.path,
            "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        let frameBytes = width * height
        guard raw.count % frameBytes == 0, raw.count / frameBytes == probed.count else {
            throw SubprocessError(description: """
                \(url.path): ffmpeg decoded \(Double(raw.count) / Double(frameBytes)) frames of \
                \(width)x\(height), ffprobe \(probed.count)
                """)
        }
        let barcode = Barcode(width: width, height: height)
        let indices: [Int?] = raw.withUnsafeBytes { bytes in
            let all = bytes.bindMemory(to: UInt8.self)
            return (0..<probed.count).map { n in
                barcode.read(UnsafeBufferPointer(rebasing: all[(n * frameBytes)..<((n + 1) * frameBytes)]))
            }
        }
        var frames: [Frame] = []
        for (n, frame) in probed.enumerated() {
            guard let time = frame.time else {
                throw SubprocessError(description: "\(url.path): video frame \(n) has no timestamp")
            }
            frames.append(Frame(index: indices[n], time: time, duration: frame.duration))
        }
        return VideoReadback(url: url, frames: frames, formatStart: format.startSeconds ?? 0,
                             format: format, video: video)
    }
}
