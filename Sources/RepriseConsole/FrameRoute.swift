import Foundation
import Hummingbird

/// `GET /api/frame?path=REC&t=SECONDS|frame=N[&width=W]`: the exact frame, as a cut starting
/// there would start, decoded through the media layer and sent as JPEG (`X-Frame-Index` and
/// `X-Frame-Time` name it). Decoding blocks for tens of milliseconds, so it runs on NIO's thread
/// pool; the previewer keeps a few recordings open with their indexes.
enum FrameRoute {
    static func add(to router: Router<ConsoleContext>, data: ConsoleData, previewer: FramePreviewer) {
        router.get("api/frame") { request, _ -> Response in
            let query = JobsAPI.query(request)
            guard let asked = query["path"], !asked.isEmpty else { throw ConsoleError(.badRequest, "path: required") }
            // Where first (403, 404), then how (400).
            let path = try await data.blocking { try data.roots.resolve(asked) }
            let width: Int
            if let w = query["width"] {
                guard let n = Int(w), (16...3840).contains(n) else { throw ConsoleError(.badRequest, "width: a whole number from 16 to 3840") }
                width = n
            } else {
                width = 640
            }
            enum Where { case time(Double), frame(Int) }
            let at: Where
            // A frame index, when given, wins over a time.
            if let f = query["frame"] {
                guard let n = Int(f), n >= 0 else { throw ConsoleError(.badRequest, "frame: a frame index, 0 or more") }
                at = .frame(n)
            } else if let t = query["t"] {
                guard let s = Double(t), s.isFinite, s >= 0 else { throw ConsoleError(.badRequest, "t: seconds, 0 or more") }
                at = .time(s)
            } else {
                at = .time(0)
            }
            let image: FramePreviewImage
            do {
                image = try await data.blocking {
                    switch at {
                    case .time(let s): try previewer.jpeg(recording: path, at: s, maxWidth: width)
                    case .frame(let n): try previewer.jpeg(recording: path, frameIndex: n, maxWidth: width)
                    }
                }
            } catch let e as FramePreviewError {
                // The detail only: the error's description starts with the server's path.
                switch e.reason {
                case .outsideRecording, .unreadable, .noVideo: throw ConsoleError(.unprocessableContent, e.detail)
                case .failed: throw e
                }
            }
            return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store",
                                                   .init("X-Frame-Index")!: "\(image.frameIndex)",
                                                   .init("X-Frame-Time")!: String(format: "%.6f", image.seconds)],
                            body: .init(byteBuffer: ByteBuffer(bytes: image.data)))
        }
    }
}
