import Foundation
import GRDB

/// How a `Job` maps to a row of the `job` table (see Migrations.swift). Written by hand rather
/// than through GRDB's record protocols so that GRDB stays out of the public API: the daemon and
/// the CLI see plain values.
extension Job {
    /// The column list `insertArguments` fills, in order.
    static let insertColumns = """
        inputPath, inputSize, inputModified, inputHash, watchFolder, kind, priority, state, attempts,
        lastError, outputs, createdAt, startedAt, finishedAt, notBefore, workerPID
        """

    init(row: Row) throws {
        let stateText: String = row["state"]
        guard let state = State(rawValue: stateText) else {
            throw JobStoreError("job \(row["id"] as Int64) has an unknown state '\(stateText)'")
        }
        let outputsText: String = row["outputs"]
        guard let outputs = try? JSONDecoder().decode([String].self, from: Data(outputsText.utf8)) else {
            throw JobStoreError("job \(row["id"] as Int64) has unreadable outputs '\(outputsText)'")
        }
        self.init(
            id: row["id"],
            input: InputIdentity(path: row["inputPath"], size: row["inputSize"],
                                 modified: row["inputModified"], hash: row["inputHash"]),
            watchFolder: row["watchFolder"],
            kind: row["kind"],
            priority: row["priority"],
            state: state,
            attempts: row["attempts"],
            lastError: row["lastError"],
            outputs: outputs,
            createdAt: Date(timeIntervalSince1970: row["createdAt"]),
            startedAt: (row["startedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
            finishedAt: (row["finishedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
            notBefore: (row["notBefore"] as Double?).map(Date.init(timeIntervalSince1970:)),
            workerPID: row["workerPID"])
    }

    var insertArguments: StatementArguments {
        [input.path, input.size, input.modified, input.hash, watchFolder, kind, priority, state.rawValue, attempts,
         lastError, Job.encodeOutputs(outputs), createdAt.timeIntervalSince1970, startedAt?.timeIntervalSince1970,
         finishedAt?.timeIntervalSince1970, notBefore?.timeIntervalSince1970, workerPID]
    }

    /// JSON text, slashes unescaped so the column stays readable in `sqlite3`.
    static func encodeOutputs(_ outputs: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding an array of strings cannot fail.
        return String(decoding: (try? encoder.encode(outputs)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
