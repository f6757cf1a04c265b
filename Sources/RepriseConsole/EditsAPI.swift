import Foundation
import Hummingbird
import RepriseHighlights
import RepriseJobs

/// `POST /api/recording/edits` `{"path": REC, "windows"?, "products"?, "outputs"?}`: a person's
/// corrections (the reel's windows, products' spans, outputs' titles, tags and descriptions).
/// Merged over the recording's newest plan override and stored as its next version (every version
/// kept, so a later run, a recipe change or a retry, keeps them). Then only what the edit touches
/// is redone: windows or products queue the `highlights` job again (its new outputs replace the
/// old ones atomically when it is done); outputs' details are rewritten in their sidecars at once,
/// with no job. 202 with the version and the jobs queued (none for details only).
enum EditsAPI {
    struct Edit: Decodable {
        var path: String
        var windows: [[Double]]?
        var products: [ProductEdit]?
        var outputs: [OutputEdit]?
    }
    struct Accepted: Encodable { var version: Int; var jobs: [JobView] }

    static func add(to router: Router<ConsoleContext>, data: ConsoleData) {
        router.post("api/recording/edits") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            let edit: Edit
            do { edit = try JSONDecoder().decode(Edit.self, from: Data(body.readableBytesView)) } catch {
                throw ConsoleError(.badRequest, "expected {\"path\": …, \"windows\": [[start, end], …], \"products\": [{id, start, end}], \"outputs\": [{file, title, tags, description}]}")
            }
            // Where first (403, 404), then what (400).
            try data.roots.checkWritten(edit.path)
            let requested = PlanOverrides(windows: edit.windows, products: edit.products, outputs: edit.outputs)
            guard edit.windows != nil || edit.products != nil || edit.outputs != nil else {
                throw ConsoleError(.badRequest, "give windows, products or outputs")
            }
            // An empty list would change nothing (and products would still render again).
            guard edit.products?.isEmpty != true, edit.outputs?.isEmpty != true else {
                throw ConsoleError(.badRequest, "products and outputs, when given, name at least one")
            }
            do { try requested.check(duration: nil, source: "edit") } catch let e as PlanOverridesError {
                throw ConsoleError(.badRequest, e.description)
            }
            let detail = try await data.recording(path: edit.path)
            let canonical = data.pathMap.canonical(edit.path)
            let hash = detail.recording.hash
            // Windows and products change the picks: the highlights job renders again.
            let rerender = edit.windows != nil || edit.products != nil
            var job: Job?
            if rerender {
                job = try await data.newest(states: nil, limit: 1, admits: {
                    $0.parentID == nil && $0.input.path == canonical && $0.input.hash == hash && $0.kind == "highlights"
                }).first
                guard let job else { throw ConsoleError(.notFound, "no highlights job for that recording") }
                guard job.state != .running && job.state != .waiting else {
                    throw ConsoleError(.conflict, "job \(job.id) is rendering now; save again once it has ended")
                }
            }
            let latest = try await data.blocking { [store = data.store] in try store.latestOverride(recording: canonical, hash: hash) }
            // An older version that can't be read is not merged over as if empty: its edits would be lost.
            let older: PlanOverrides
            if let latest {
                do { older = try JSONDecoder().decode(PlanOverrides.self, from: Data(latest.body.utf8)) } catch {
                    throw ConsoleError(.conflict, "this recording's stored edits (version \(latest.version)) can't be read; nothing was saved")
                }
            } else {
                older = PlanOverrides()
            }
            let merged = older.merged(with: requested)
            do { try merged.check(duration: detail.review?.duration, source: "edit") } catch let e as PlanOverridesError {
                throw ConsoleError(.badRequest, e.description)
            }
            // Details: each edited output's sidecar, found and checked before anything is saved.
            let files = Set((edit.outputs ?? []).map(\.file))
            let sidecars = try SidecarEdits.find((merged.outputs ?? []).filter { files.contains($0.file) }, in: detail,
                                                 recording: edit.path, canonical: canonical, roots: data.roots, pathMap: data.pathMap)
            for s in sidecars {
                // A running job would publish its sidecar over this edit.
                if let form = detail.recording.forms.first(where: { $0.job == s.job }), ["running", "waiting"].contains(form.state) {
                    throw ConsoleError(.conflict, "job \(s.job) is rendering \(s.edit.file) now; save again once it has ended")
                }
            }
            let text = String(decoding: try JSONEncoder().encode(merged), as: UTF8.self)
            let rerun = job, base = latest?.version
            // Saved only over the version merged here (else 409: another save came between), then
            // the job, then the sidecars last: a sidecar not written is made right by the next run.
            let (version, queued) = try await data.blocking { [store = data.store] () -> (Int, [Job]) in
                let version: Int
                do { version = try store.saveOverride(recording: canonical, hash: hash, body: text, over: base, now: Date()) } catch let e as OverrideConflict {
                    throw ConsoleError(.conflict, e.description)
                }
                var queued: [Job] = []
                if let rerun {
                    do { queued = [try store.rerun(rerun.id)] } catch let e as JobStoreError {
                        throw ConsoleError(.conflict, "saved as version \(version), but the render was not queued: \(e.description)")
                    }
                }
                for s in sidecars {
                    do { try SidecarEdits.rewrite(s) } catch let e as ConsoleError { throw e } catch {
                        throw ConsoleError(.internalServerError, "saved as version \(version), but \(s.edit.file).json could not be written")
                    }
                }
                return (version, queued)
            }
            return try JobsAPI.json(Accepted(version: version, jobs: queued.map { JobView(data.local($0), progress: nil) }), status: .accepted)
        }
    }
}
