import Foundation
import RepriseCore
import RepriseHighlights
import RepriseProfiles

/// An output's details edited in place: its sidecar (`FILE.json`, the highlights run's metadata)
/// found among the recording's outputs, checked (inside the roots, made from this recording) and
/// rewritten atomically with the edit over it. No job runs: only words change.
struct SidecarEdits {
    /// A sidecar found for an edit: where it really is and the job whose output it is.
    struct Found { var edit: OutputEdit; var path: String; var job: Int64 }

    /// Every edit's sidecar, or the first one's error: 404 when the recording has no such output
    /// or it has no sidecar, 403 when it lies outside the roots, 400 when it isn't this recording's.
    static func find(_ edits: [OutputEdit], in detail: RecordingDetail, recording: String, canonical: String,
                     roots: PathRoots, pathMap: PathMap) throws -> [Found] {
        try edits.map { edit in
            // The sidecar as the store lists it, or beside the output it describes.
            let listed = detail.recording.forms.flatMap { form in form.outputs.map { (job: form.job, path: $0) } }
                .first { ($0.path as NSString).lastPathComponent == edit.file + ".json" || ($0.path as NSString).lastPathComponent == edit.file }
            guard let listed else { throw ConsoleError(.notFound, "no output \(edit.file) for that recording") }
            let (job, output) = (listed.job, listed.path)
            // Listed as the output itself, or as its sidecar.
            let sidecar = (output as NSString).lastPathComponent == edit.file ? output + ".json" : output
            guard roots.contains(sidecar) else { throw ConsoleError(.forbidden, "\(edit.file): outside the console's folders") }
            let real: String
            do { real = try roots.resolve(sidecar) } catch let e as ConsoleError where e.status == .notFound {
                throw ConsoleError(.notFound, "\(edit.file) has no details file (\(edit.file).json)")
            }
            guard let value = try? read(real) else { throw ConsoleError(.notFound, "\(edit.file).json is not a details file") }
            let source = value["source"] as? String ?? ""
            // The run writes the path where its node found the recording; a node mounting the
            // storage elsewhere (no path_map entry here) still sees the same file name.
            let sameName = (source as NSString).lastPathComponent == (recording as NSString).lastPathComponent
            guard source == recording || source == canonical || pathMap.local(source) == recording || sameName else {
                throw ConsoleError(.badRequest, "\(edit.file) was not made from that recording")
            }
            return Found(edit: edit, path: real, job: job)
        }
    }

    static func read(_ path: String) throws -> [String: Any] {
        guard let value = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] else {
            throw ConsoleError(.notFound, "not a details file")
        }
        return value
    }

    /// The sidecar with the edit over it, published whole (a reader sees the old or the new file).
    static func rewrite(_ found: Found) throws {
        let value = try read(found.path)
        try AtomicPublish.write(try OutputEdit.sidecarData(found.edit.applied(to: value)), to: found.path)
    }
}
