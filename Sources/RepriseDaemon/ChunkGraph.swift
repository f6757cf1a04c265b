import Foundation
import RepriseJobs

/// A long `transcode:PROFILE` or `ladder:NAME` job split into parts any node can run: one video
/// chunk per stretch of the output's keyframe grid (a ladder's: its segment grid, every rung in
/// one part), one audio part for the whole recording (so joins have no audio seam), and a stitch
/// that needs them all and finishes the parent. The parts are planned by a `reprise transcode
/// --chunk-plan` (or `reprise ladder --chunk-plan`) child (it reads the recording); this file
/// turns that plan into job drafts and each part back into its `reprise` command. Pure: tested
/// without a store.
public enum ChunkGraph {
    /// What `reprise transcode … --chunk-plan SECONDS --json` prints (its result line).
    public struct Layout: Decodable, Sendable, Equatable {
        public struct Chunk: Decodable, Sendable, Equatable {
            public var index: Int
            public var start: Double
            public var end: Double
            public var part: String
        }
        public var output: String
        public var chunks: [Chunk]
        public var audioPart: String?
    }

    /// One part's work order, kept as the child job's payload.
    public struct Order: Codable, Sendable, Equatable {
        public enum Role: String, Codable, Sendable { case chunk, audio, stitch }
        public var role: Role
        /// The stitched output's final path; a part file is named from it.
        public var output: String
        /// A chunk's range on the output's timeline, seconds.
        public var start: Double?
        public var end: Double?
        /// The stitch's inputs.
        public var parts: [String]?
        public var audio: String?
    }

    /// Job kinds of the parts: `chunk:transcode:NAME`, `audio:…`, `stitch:…`.
    public static func partKind(_ role: Order.Role, of kind: String) -> String { "\(role.rawValue):\(kind)" }

    /// The forms that can be split: a single transcode profile (its parts are MP4) or a ladder
    /// (its parts are folders of HLS segments).
    public static func canSplit(kind: String) -> Bool {
        (kind.hasPrefix("transcode:") && !kind.dropFirst(10).contains(",")) || (kind.hasPrefix("ladder:") && kind.count > 7)
    }

    /// `hls-NAME`: the folder a ladder job writes in its output folder (as `JobPlan` names it).
    static func ladderFolder(_ name: String) -> String { JobPlan.ladderFolder(name) }

    /// The parts of `layout` as drafts, the stitch last (needing every other part, finishing the
    /// parent). nil when there is nothing to split (one chunk).
    public static func drafts(kind: String, priority: Int, layout: Layout) throws -> [JobDraft]? {
        guard layout.chunks.count > 1 else { return nil }
        var drafts: [JobDraft] = []
        for c in layout.chunks {
            drafts.append(JobDraft(kind: partKind(.chunk, of: kind), priority: priority,
                                   payload: try encode(Order(role: .chunk, output: layout.output, start: c.start, end: c.end))))
        }
        if let audio = layout.audioPart {
            drafts.append(JobDraft(kind: partKind(.audio, of: kind), priority: priority,
                                   payload: try encode(Order(role: .audio, output: layout.output, audio: audio))))
        }
        let stitch = Order(role: .stitch, output: layout.output, parts: layout.chunks.map(\.part), audio: layout.audioPart)
        drafts.append(JobDraft(kind: partKind(.stitch, of: kind), priority: priority, payload: try encode(stitch),
                               needs: Array(drafts.indices), completesParent: true))
        return drafts
    }

    /// The `reprise` arguments of a part job whose outputs go to `folder` (the staging folder):
    /// a chunk or the audio part is written beside `folder/<output name>`; the stitch reads the
    /// published parts and writes `folder/<output name>`.
    /// `local` maps the store's (canonical) paths to this node's.
    public static func arguments(part job: Job, input: String, folder: String, profileFolders: [String],
                                 local: (String) -> String = { $0 }) throws -> [String] {
        guard let text = job.payload, let order = try? JSONDecoder().decode(Order.self, from: Data(text.utf8)) else {
            throw JobStoreError("job \(job.id) (\(job.kind)) has no readable work order")
        }
        let dirs = profileFolders.flatMap { ["--profile-dir", $0] }
        let staged = (folder as NSString).appendingPathComponent((order.output as NSString).lastPathComponent)
        let fields = job.kind.split(separator: ":", maxSplits: 2)
        let profile = String(fields.last ?? "")
        if fields.count == 3 && fields[1] == "ladder" {
            switch order.role {
            case .chunk:
                guard let start = order.start, let end = order.end else { throw JobStoreError("job \(job.id): a chunk without its range") }
                return ["ladder", input, "--ladder", profile, "-o", staged, "--chunk", "\(start),\(end)", "--json"] + dirs
            case .audio:
                return ["ladder", input, "--ladder", profile, "-o", staged, "--audio-only", "--json"] + dirs
            case .stitch: break  // the same stitch command: it knows part folders
            }
        }
        switch order.role {
        case .chunk:
            guard let start = order.start, let end = order.end else { throw JobStoreError("job \(job.id): a chunk without its range") }
            return ["transcode", input, "--profile", profile, "-o", staged, "--chunk", "\(start),\(end)", "--json"] + dirs
        case .audio:
            return ["transcode", input, "--profile", profile, "-o", staged, "--audio-only", "--json"] + dirs
        case .stitch:
            let parts = order.parts ?? []
            guard !parts.isEmpty else { throw JobStoreError("job \(job.id): a stitch without parts") }
            return ["stitch"] + parts.map(local) + (order.audio.map { ["--audio", local($0)] } ?? []) + ["-o", staged, "--json"]
        }
    }

    /// The hidden folder in a recording's output folder where parts are published until the stitch
    /// (the name `ChunkEncoder.partsFolderName` gives it; this target doesn't link the encoder).
    public static let partsFolderName = ".reprise-parts"

    /// `job-ID`: the folder inside the parts folder that holds split job ID's parts.
    public static func graphFolderName(_ parentID: Int64) -> String { "job-\(parentID)" }

    /// A planned part's path moved into its graph's folder: `…/.reprise-parts/NAME` becomes
    /// `…/.reprise-parts/job-ID/NAME` (a path elsewhere is left as it is).
    public static func inGraphFolder(_ part: String, parent: Int64) -> String {
        let folder = (part as NSString).deletingLastPathComponent
        guard (folder as NSString).lastPathComponent == partsFolderName else { return part }
        return ((folder as NSString).appendingPathComponent(graphFolderName(parent)) as NSString)
            .appendingPathComponent((part as NSString).lastPathComponent)
    }

    /// Whether `job` is a chunk or the audio part: its staged outputs are parts, published into
    /// the parts folder rather than among the outputs.
    public static func publishesParts(_ job: Job) -> Bool {
        guard job.parentID != nil, let text = job.payload,
              let order = try? JSONDecoder().decode(Order.self, from: Data(text.utf8)) else { return false }
        return order.role != .stitch
    }

    /// Every part of a graph, from its jobs (`children(of:)` of the parent): the stitch names them all.
    public static func partFiles(ofGraph children: [Job]) -> [String] { children.flatMap(partFiles(of:)) }

    /// The parts a finished stitch no longer needs (removed once the parent is done): files, or
    /// a ladder's part folders.
    public static func partFiles(of job: Job) -> [String] {
        guard let text = job.payload, let order = try? JSONDecoder().decode(Order.self, from: Data(text.utf8)),
              order.role == .stitch else { return [] }
        return (order.parts ?? []) + (order.audio.map { [$0] } ?? [])
    }

    /// The `reprise` arguments that plan the parts of `kind` (a single transcode profile, or a ladder).
    public static func planArguments(kind: String, input: String, output folder: String, chunkSeconds: Double,
                                     profileFolders: [String]) -> [String] {
        let dirs = profileFolders.flatMap { ["--profile-dir", $0] }
        if kind.hasPrefix("ladder:") {
            let name = String(kind.dropFirst("ladder:".count))
            return ["ladder", input, "--ladder", name, "-o", (folder as NSString).appendingPathComponent(ladderFolder(name)),
                    "--chunk-plan", String(chunkSeconds), "--json"] + dirs
        }
        return ["transcode", input, "--profile", String(kind.dropFirst("transcode:".count)), "-o", folder,
                "--chunk-plan", String(chunkSeconds), "--json"] + dirs
    }

    /// The layout in a `--chunk-plan --json` child's result line.
    public static func layout(fromResult line: String) throws -> Layout {
        do { return try JSONDecoder().decode(Layout.self, from: Data(line.utf8)) } catch {
            throw JobStoreError("the chunk plan could not be read: \(error)")
        }
    }

    private static func encode(_ order: Order) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(order), as: UTF8.self)
    }
}
