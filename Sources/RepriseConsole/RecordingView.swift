import Foundation
import RepriseHighlights
import RepriseJobs

/// A recording: one input file (path and content hash) and the forms made of it.
public struct RecordingView: Codable, Sendable, Equatable {
    public struct Form: Codable, Sendable, Equatable {
        public var job: Int64
        public var form: String
        public var state: String
        public var outputs: [String]
    }
    public var path: String
    public var name: String
    public var hash: String
    public var size: Int64
    public var forms: [Form]
    /// A cover image among the outputs, for the list's thumbnail.
    public var cover: String?
    /// done, failed, running… : the least finished of its forms.
    public var state: String

    init(jobs: [Job]) {
        let first = jobs[0]
        path = first.input.path; name = (path as NSString).lastPathComponent; hash = first.input.hash; size = first.input.size
        forms = jobs.map { Form(job: $0.id, form: $0.kind, state: $0.state.rawValue, outputs: $0.outputs) }
        cover = jobs.flatMap(\.outputs).first { $0.lowercased().hasSuffix(".jpg") }
        let order: [Job.State] = [.running, .waiting, .queued, .failed, .quarantined, .cancelled, .done]
        state = order.first { s in jobs.contains { $0.state == s } }?.rawValue ?? "done"
    }
}

/// One recording's page: its forms, every output file with the URL it is served at, and the
/// signal files found beside it.
public struct RecordingDetail: Codable, Sendable, Equatable {
    public struct Output: Codable, Sendable, Equatable {
        public var path: String
        public var url: String
        /// video, playlist, image, metadata, other
        public var type: String
        public var bytes: Int64?
        public var form: String
        /// The title, tags and description in its sidecar (`FILE.json`), when it has one: what the
        /// console edits.
        public var details: Details?
    }
    public struct Details: Codable, Sendable, Equatable {
        public var title: String
        public var tags: [String]
        public var description: String
    }
    public struct Signal: Codable, Sendable, Equatable {
        public var kind: String
        public var path: String
    }
    public var recording: RecordingView
    public var outputs: [Output]
    public var signals: [Signal]
    /// The highlights run's review file (lanes, windows, scene cuts), once one was made.
    public var review: ReviewFile?

    init(recording: RecordingView, roots: PathRoots) {
        self.recording = recording
        var list: [Output] = []
        for form in recording.forms {
            for path in form.outputs where roots.contains(path) {
                let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
                let type = RecordingDetail.type(of: path)
                let served = type == "ladder" ? (path as NSString).appendingPathComponent("master.m3u8") : path
                list.append(Output(path: path, url: MediaRoute.url(for: served), type: type, bytes: bytes, form: form.form,
                                   details: type == "video" ? RecordingDetail.details(of: path, roots: roots) : nil))
            }
        }
        outputs = list
        let folders = Set(list.map { ($0.path as NSString).deletingLastPathComponent })
        let found = folders.sorted().map { ReviewFile.path(forRecording: recording.path, in: $0) }
            .first { roots.contains($0) && FileManager.default.fileExists(atPath: $0) }
        review = found.flatMap(ReviewFile.read).map { file in
            // Its outputs were named where the job wrote them (a staging folder): name them where they are now.
            var r = file
            let folder = (found! as NSString).deletingLastPathComponent
            for i in r.outputs.indices {
                r.outputs[i].path = (folder as NSString).appendingPathComponent((r.outputs[i].path as NSString).lastPathComponent)
            }
            r.input = recording.path
            return r
        }
        let sidecars = HighlightsEngine.sidecars(for: recording.path)
        signals = [("chat", sidecars.chat), ("orders", sidecars.orders), ("products", sidecars.products)].compactMap { kind, path in
            path.map { Signal(kind: kind, path: $0) }
        }
    }

    /// A video's sidecar fields, read only from inside the roots.
    static func details(of path: String, roots: PathRoots) -> Details? {
        guard let real = try? roots.resolve(path + ".json"),
              let value = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: real)))) as? [String: Any] else { return nil }
        return Details(title: value["title"] as? String ?? "", tags: value["tags"] as? [String] ?? [],
                       description: value["description"] as? String ?? "")
    }

    static func type(of path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v", "mov", "ts": return "video"
        case "m3u8": return "playlist"
        case "jpg", "jpeg", "png", "webp": return "image"
        case "json", "txt", "vtt", "srt": return "metadata"
        default:
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("master.m3u8"), isDirectory: &isDir) { return "ladder" }
            return "other"
        }
    }
}
