import Foundation
import Glibc

/// Where a job's child process writes, and how its outputs reach their final place. The child
/// writes into a hidden folder beside the outputs (`OUT/<recording>/.reprise-staging-job-ID-fence-F/`,
/// same filesystem); only after the daemon has proven its claim still holds are the staged
/// entries renamed into `OUT/<recording>/`, each in one rename (a ladder's folder too). A node
/// that lost its claim deletes its staging folder instead, so a stale claim publishes nothing, and
/// a crash leaves either the staging folder (removed at the job's next attempt, or finished by it
/// when publishing had begun: see `journalName`) or whole outputs.
struct StagedPublish {
    /// The recording's output folder: final outputs live here.
    let target: String
    let jobID: Int64
    let fence: Int64
    /// A part job's: its entries are staged in `folder/.reprise-parts/` and published into
    /// `target/.reprise-parts/` (made when missing), not among the outputs.
    var parts = false
    /// A part job's split job: its parts go to `target/.reprise-parts/job-ID/`, apart from any
    /// other graph's (a later recording of the same name makes parts of the same names).
    var graph: Int64? = nil

    var folder: String { (target as NSString).appendingPathComponent(Self.prefix(jobID) + "\(fence)") }

    static func prefix(_ jobID: Int64) -> String { ".reprise-staging-job-\(jobID)-fence-" }

    /// Removes staging folders earlier attempts of this job left (a crash, a lost lease), then
    /// makes this attempt's, empty. Returns the stale folders removed.
    @discardableResult
    func prepare() throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        var removed: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: target)) ?? [] where name.hasPrefix(Self.prefix(jobID)) {
            let path = (target as NSString).appendingPathComponent(name)
            try? fm.removeItem(atPath: path)
            removed.append(path)
        }
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: false)
        return removed
    }

    /// Deletes this attempt's staging folder and everything in it, the journal first (a crash
    /// midway must not leave a journal over a half-deleted folder, to be "finished" later).
    func discard() {
        if unlink(journal) == 0 { Self.syncFolder(folder) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Written into the staging folder before the first rename: the entries this attempt
    /// publishes, a name a line. It says the claim was proven and publishing began; the folder
    /// (and it) goes only once the store has recorded the job done (`discard`). A node lost in
    /// between leaves it behind, and the job's next attempt finishes those renames (`resume`)
    /// instead of encoding again: outputs are never left half replaced (a job's several outputs,
    /// some new, some old) and never published twice.
    static let journalName = ".publishing"
    var journal: String { (folder as NSString).appendingPathComponent(Self.journalName) }

    /// An earlier attempt's staging folder of this job that began publishing (the latest, if
    /// several), to be finished under this attempt's claim. Call before `prepare`, which removes it.
    func unfinishedPublish() -> StagedPublish? {
        let fm = FileManager.default
        let fences = ((try? fm.contentsOfDirectory(atPath: target)) ?? []).compactMap { name -> Int64? in
            guard name.hasPrefix(Self.prefix(jobID)), let fence = Int64(name.dropFirst(Self.prefix(jobID).count)), fence != self.fence else { return nil }
            return fence
        }
        for fence in fences.sorted(by: >) {
            let earlier = StagedPublish(target: target, jobID: jobID, fence: fence, parts: parts, graph: graph)
            if earlier.journalIsWhole() { return earlier }
        }
        return nil
    }

    /// What the journal holds: the entries to rename, and the outputs the child reported (final
    /// paths), recorded as a normal attempt records them.
    struct Journal: Codable, Equatable {
        var entries: [String]
        var outputs: [String]
    }

    /// The journal; nil when there is none (or it can't be read).
    func readJournal() -> Journal? {
        guard let data = FileManager.default.contents(atPath: journal), var j = try? JSONDecoder().decode(Journal.self, from: data) else { return nil }
        j.entries = j.entries.filter { !$0.isEmpty && !$0.hasPrefix(".") && !$0.contains("/") }
        return j
    }

    func journalEntries() -> [String]? { readJournal()?.entries }

    /// A journal whose every entry is still staged or already in place: a publish that can be
    /// finished. One with an entry in neither place (its parts swept after the job ended, say) is
    /// not: the job is encoded again.
    func journalIsWhole() -> Bool {
        guard let entries = journalEntries() else { return false }
        var st = stat()
        return entries.allSatisfy { name in
            lstat((source as NSString).appendingPathComponent(name), &st) == 0
                || lstat((destination as NSString).appendingPathComponent(name), &st) == 0
        }
    }

    func writeJournal(_ names: [String], outputs: [String] = []) throws {
        let temporary = journal + ".tmp"
        let encoded = (try? JSONEncoder().encode(Journal(entries: names, outputs: outputs))) ?? Data()
        guard FileManager.default.createFile(atPath: temporary, contents: encoded) else {
            throw PublishError(message: "can't write \(temporary)")
        }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary, journal) == 0 else { throw Self.failure("write \(journal)", errno) }
        Self.syncFolder(folder)
    }

    /// Where a staged path ends up once published (paths outside the staging folder unchanged; a
    /// part's `folder/.reprise-parts/X` becomes `target/.reprise-parts/X`).
    func finalPath(_ staged: String) -> String {
        if staged == folder { return target }
        if parts, staged.hasPrefix(source + "/") { return destination + staged.dropFirst(source.count) }
        guard staged.hasPrefix(folder + "/") else { return staged }
        return target + staged.dropFirst(folder.count)
    }

    /// Where the staged entries to publish are, and where they go.
    var source: String { parts ? (folder as NSString).appendingPathComponent(ChunkGraph.partsFolderName) : folder }
    var destination: String {
        guard parts else { return target }
        let folder = (target as NSString).appendingPathComponent(ChunkGraph.partsFolderName)
        return graph.map { (folder as NSString).appendingPathComponent(ChunkGraph.graphFolderName($0)) } ?? folder
    }

    /// Renames every staged entry into the target folder (the journal first: see `journalName`);
    /// returns the final paths of the entries. The staging folder stays until `discard`. An
    /// existing output of the same name is replaced in one step for a file (rename over it); a
    /// folder is first renamed aside into the staging folder, the new one renamed in, and the old
    /// one goes with the staging folder. Hidden entries (a child's temporary files) stay behind.
    func publish(outputs: [String] = []) throws -> [String] {
        let fm = FileManager.default
        let names: [String]
        if let listed = journalEntries() {
            names = listed  // resuming an attempt's publish: its entries, some already in place
        } else {
            names = try fm.contentsOfDirectory(atPath: source).filter { !$0.hasPrefix(".") }.sorted()
            try writeJournal(names, outputs: outputs)
        }
        var published: [String] = []
        for name in names {
            let from = (source as NSString).appendingPathComponent(name)
            let to = (destination as NSString).appendingPathComponent(name)
            var staged = stat()
            if lstat(from, &staged) != 0 && errno == ENOENT {
                published.append(to)  // renamed into place before the attempt that began this was lost
                continue
            }
            // The parts folder is removed when a stitch leaves it empty: made again for each entry.
            if parts { try fm.createDirectory(atPath: destination, withIntermediateDirectories: true) }
            var old = stat()
            var aside: String?
            if lstat(to, &old) == 0 && ((old.st_mode & S_IFMT) == S_IFDIR || Self.isDirectory(from)) {
                // rename(2) does not replace a folder that has entries: move the old one aside first.
                let place = (folder as NSString).appendingPathComponent(".replaced-\(name)")
                guard rename(to, place) == 0 else { throw Self.failure("move the old \(to) aside", errno) }
                aside = place
            }
            var moved = rename(from, to) == 0
            if !moved && errno == ENOENT && parts {
                // Another graph's stitch removed the emptied parts folder just now: once more.
                try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
                moved = rename(from, to) == 0
            }
            guard moved else {
                let failure = Self.failure("publish \(to)", errno)
                // The old output goes back where it was: a failed publish must not lose it.
                if let aside { rename(aside, to) }
                throw failure
            }
            published.append(to)
        }
        Self.syncFolder(destination)
        return published
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The renames are durable once the folder's entries are on disk.
    static func syncFolder(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func failure(_ what: String, _ code: Int32) -> PublishError {
        PublishError(message: "can't \(what): \(String(cString: strerror(code)))")
    }
}

struct PublishError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
