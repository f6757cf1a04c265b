import Foundation
import PostgresNIO
import RepriseJobs

/// How a `Job` maps to a row of PostgreSQL's `job` table (see PostgresSchema.swift). Rows are read
/// by position, in `PostgresJobRow.columns` order, so every query that returns jobs selects exactly
/// that list.
enum PostgresJobRow {
    static let columns = """
        id, inputPath, inputSize, inputModified, inputHash, watchFolder, kind, priority, state, attempts,
        lastError, outputs, createdAt, startedAt, finishedAt, notBefore, workerPID, node, fence, leaseUntil,
        parentID, payload, needs, completesParent
        """

    /// `columns` with each name prefixed by a table alias, for joins.
    static func columns(of alias: String) -> String {
        columns.split(separator: ",").map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }
            .joined(separator: ", ")
    }

    static func job(_ row: PostgresRow) throws -> Job {
        let r = row.makeRandomAccess()
        func date(_ i: Int) throws -> Date? { try r[i].decode(Double?.self).map(Date.init(timeIntervalSince1970:)) }
        let id = try r[0].decode(Int64.self)
        let stateText = try r[8].decode(String.self)
        guard let state = Job.State(rawValue: stateText) else {
            throw JobStoreError("job \(id) has an unknown state '\(stateText)'")
        }
        return Job(
            id: id,
            input: InputIdentity(path: try r[1].decode(String.self), size: try r[2].decode(Int64.self),
                                 modified: try r[3].decode(Double.self), hash: try r[4].decode(String.self)),
            watchFolder: try r[5].decode(String.self),
            kind: try r[6].decode(String.self),
            priority: Int(try r[7].decode(Int64.self)),
            state: state,
            attempts: Int(try r[9].decode(Int64.self)),
            lastError: try r[10].decode(String?.self),
            outputs: try r[11].decode([String].self),
            createdAt: Date(timeIntervalSince1970: try r[12].decode(Double.self)),
            startedAt: try date(13),
            finishedAt: try date(14),
            notBefore: try date(15),
            workerPID: try r[16].decode(Int64?.self).map { Int32(truncatingIfNeeded: $0) },
            node: try r[17].decode(String?.self),
            fence: try r[18].decode(Int64.self),
            leaseUntil: try date(19),
            parentID: try r[20].decode(Int64?.self),
            payload: try r[21].decode(String?.self),
            needs: try r[22].decode([Int64].self),
            completesParent: try r[23].decode(Bool.self))
    }
}
