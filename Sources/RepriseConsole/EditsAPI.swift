import Foundation
import Hummingbird
import RepriseHighlights
import RepriseJobs

/// `POST /api/recording/edits` `{"path": REC, "windows": [[start, end], …]}`: the reel's windows
/// as a person set them. Stored in the job store as the recording's next plan override (every
/// version kept, so a later run, a recipe change or a retry, keeps them), then only the form the
/// edit touches is queued again: the `highlights` job (reel, teaser, product clips, covers). Its
/// new outputs replace the old ones atomically when it is done. 202 with the version and the job.
enum EditsAPI {
    struct Edit: Decodable { var path: String; var windows: [[Double]] }
    struct Accepted: Encodable { var version: Int; var jobs: [JobView] }

    static func add(to router: Router<ConsoleContext>, data: ConsoleData) {
        router.post("api/recording/edits") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            let edit: Edit
            do { edit = try JSONDecoder().decode(Edit.self, from: Data(body.readableBytesView)) } catch {
                throw ConsoleError(.badRequest, "expected {\"path\": …, \"windows\": [[start, end], …]}")
            }
            // Where first (403, 404), then what (400).
            try data.roots.checkWritten(edit.path)
            let overrides = PlanOverrides(windows: edit.windows)
            do { try overrides.check(duration: nil, source: "windows") } catch let e as PlanOverridesError {
                throw ConsoleError(.badRequest, e.description)
            }
            let canonical = data.pathMap.canonical(edit.path)
            guard let job = try await data.newest(states: nil, limit: 1, admits: { $0.parentID == nil && $0.input.path == canonical && $0.kind == "highlights" }).first else {
                throw ConsoleError(.notFound, "no highlights job for that recording")
            }
            if let duration = (try? await data.recording(path: edit.path))?.review?.duration {
                do { try overrides.check(duration: duration, source: "windows") } catch let e as PlanOverridesError {
                    throw ConsoleError(.badRequest, e.description)
                }
            }
            guard job.state != .running && job.state != .waiting else {
                throw ConsoleError(.conflict, "job \(job.id) is rendering now; save again once it has ended")
            }
            let text = String(decoding: try JSONEncoder().encode(PlanOverrides(windows: edit.windows)), as: UTF8.self)
            let (version, queued) = try await data.blocking { [store = data.store] in
                let version = try store.saveOverride(recording: job.input.path, hash: job.input.hash, body: text, now: Date())
                do { return (version, try store.rerun(job.id)) } catch let e as JobStoreError { throw ConsoleError(.conflict, e.description) }
            }
            return try JobsAPI.json(Accepted(version: version, jobs: [JobView(data.local(queued), progress: nil)]), status: .accepted)
        }
    }
}
