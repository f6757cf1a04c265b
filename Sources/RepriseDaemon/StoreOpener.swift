import Foundation
import Glibc
import RepriseJobs
import RepriseProfiles

/// Which job store a daemon or `reprise jobs`/`reprise nodes` uses.
public enum StoreSpec: Sendable, Equatable {
    /// The embedded store: one SQLite file (by default `STATE/jobs.sqlite`).
    case sqlite(path: String)
    /// `postgres://user@host:port/db`; the password comes from PGPASSWORD or a passfile.
    case postgres(url: String)

    /// `store` from the configuration or `--store`; nil means the state folder's SQLite file.
    public static func parse(_ store: String?, stateDirectory: String) throws -> StoreSpec {
        guard let store else { return .sqlite(path: (stateDirectory as NSString).appendingPathComponent("jobs.sqlite")) }
        if let problem = DaemonConfigLoader.storeProblem(store) { throw JobStoreError("store \(DaemonConfigLoader.redactedStore(store)): \(problem)") }
        let lower = store.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") { return .postgres(url: store) }
        return .sqlite(path: store)
    }

    public var isSQLite: Bool { if case .sqlite = self { return true } else { return false } }
}

/// Opens job stores. The engines a build has are registered here, in one place: SQLite always;
/// PostgreSQL through `openPostgres`, which the `reprise` executable sets when it links the
/// PostgreSQL engine (`StoreOpener.reprise` in Sources/reprise/StoreOpening.swift).
public struct StoreOpener: Sendable {
    public var openPostgres: @Sendable (_ url: String) throws -> any JobStore

    public init(openPostgres: @escaping @Sendable (_ url: String) throws -> any JobStore) { self.openPostgres = openPostgres }

    public func open(_ spec: StoreSpec) throws -> any JobStore {
        switch spec {
        case .sqlite(let path):
            // Concurrent first opens are safe: SQLiteJobStore migrates under a file lock.
            return try SQLiteJobStore(path: path)
        case .postgres(let url): return try openPostgres(url)
        }
    }
}
