import Foundation
import Hummingbird
import NIOPosix

/// Output files for the players: `GET /media/<absolute path>`, with byte ranges (a browser's
/// video element seeks with them). The path is in the URL's path, not its query, so an HLS
/// playlist's relative references resolve to further `/media/…` URLs.
enum MediaRoute {
    static let prefix = "/media"

    static func url(for path: String) -> String {
        prefix + path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#;"))) ?? ""
        }.joined(separator: "/")
    }

    /// The bytes of `range` from the opened file, read on the thread pool in 128 KB pieces.
    static func stream(_ file: OpenedFile, _ range: ClosedRange<Int>) -> ResponseBody {
        ResponseBody(contentLength: range.count) { writer in
            var offset = range.lowerBound
            while offset <= range.upperBound {
                let count = min(128 * 1024, range.upperBound - offset + 1)
                let at = offset
                let bytes = try await NIOThreadPool.singleton.runIfActive { try file.read(at: at, count: count) }
                guard !bytes.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: bytes))
                offset += bytes.count
            }
            try await writer.finish(nil)
        }
    }

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v", "m4s": return "video/mp4"
        case "m4a": return "audio/mp4"
        case "ts": return "video/mp2t"
        case "m3u8": return "application/vnd.apple.mpegurl"
        case "jpg", "jpeg": return "image/jpeg"
        case "png": return "image/png"
        case "json": return "application/json"
        case "vtt": return "text/vtt"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// `bytes=A-B`, `bytes=A-`, `bytes=-N` against a file of `size` bytes; nil when absent,
    /// unsatisfiable when it asks past the end.
    enum RangeAsk: Equatable { case whole, part(ClosedRange<Int>), unsatisfiable }
    static func range(_ header: String?, size: Int) -> RangeAsk {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return .whole }
        let a = Int(spec[0].trimmingCharacters(in: .whitespaces)), b = Int(spec[1].trimmingCharacters(in: .whitespaces))
        switch (a, b) {
        case let (start?, end?) where start <= end:
            return start < size ? .part(start...min(end, size - 1)) : .unsatisfiable
        case let (start?, nil):
            return start < size ? .part(start...(size - 1)) : .unsatisfiable
        case let (nil, suffix?):
            return size > 0 && suffix > 0 ? .part(max(0, size - suffix)...(size - 1)) : .unsatisfiable
        default:
            return .whole
        }
    }

    static func add(to router: Router<ConsoleContext>, data: ConsoleData) {
        router.get("/media/**") { request, context -> Response in
            let asked = "/" + context.parameters.getCatchAll().joined(separator: "/")
            let path = asked.removingPercentEncoding ?? asked
            let file = try await data.blocking { try data.roots.open(path) }
            let size = file.size
            var headers: HTTPFields = [.contentType: contentType(path), .acceptRanges: "bytes", .cacheControl: "no-cache"]
            switch range(request.headers[.range], size: size) {
            case .unsatisfiable:
                throw ConsoleError(.rangeNotSatisfiable, "range outside the file", headers: [.contentRange: "bytes */\(size)"])
            case .part(let r):
                headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
                headers[.contentLength] = "\(r.count)"
                return Response(status: .partialContent, headers: headers, body: stream(file, r))
            case .whole:
                headers[.contentLength] = "\(size)"
                if size == 0 { return Response(status: .ok, headers: headers) }
                return Response(status: .ok, headers: headers, body: stream(file, 0...(size - 1)))
            }
        }
    }
}
