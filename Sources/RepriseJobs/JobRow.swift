import Foundation
import GRDB

/// How a `Job` maps to a row of the `job` table (see Migrations.swift). Written by hand rather
/// than through GRDB's record protocols so that GRDB stays out of the public API: the daemon and
/// the CLI see plain values.
extension Job {
    /// The column list `insertArguments` fills, in order.
    static let insertColumns = """
        inputPath, inputSize, inputModified, inputHash, watchFolder, kind, priority, state, attempts,
        lastError, outputs, createdAt, startedAt, finishedAt, notBefore, workerPID, node, fence, leaseUntil,
        parentID, payload, needs, completesParent
        """
    static let insertPlaceholders = Array(repeating: "?", count: 23).joined(separator: ", ")

    init(row: Row) throws {
        let stateText: String = row["state"]
        guard let state = State(rawValue: stateText) else {
            throw JobStoreError("job \(row["id"] as Int64) has an unknown state '\(stateText)'")
        }
        let outputsText: String = row["outputs"]
        guard let outputs = try? JSONDecoder().decode([String].self, from: Data(outputsText.utf8)) else {
            throw JobStoreError("job \(row["id"] as Int64) has unreadable outputs '\(outputsText)'")
        }
        let needsText: String = row["needs"]
        guard let needs = try? JSONDecoder().decode([Int64].self, from: Data(needsText.utf8)) else {
            throw JobStoreError("job \(row["id"] as Int64) has unreadable needs '\(needsText)'")
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
            workerPID: row["workerPID"],
            node: row["node"],
            fence: row["fence"],
            leaseUntil: (row["leaseUntil"] as Double?).map(Date.init(timeIntervalSince1970:)),
            parentID: row["parentID"],
            payload: row["payload"],
            needs: needs,
            completesParent: row["completesParent"])
    }

    var insertArguments: StatementArguments {
        [input.path, input.size, input.modified, input.hash, watchFolder, kind, priority, state.rawValue, attempts,
         lastError, Job.encodeOutputs(outputs), createdAt.timeIntervalSince1970, startedAt?.timeIntervalSince1970,
         finishedAt?.timeIntervalSince1970, notBefore?.timeIntervalSince1970, workerPID, node, fence,
         leaseUntil?.timeIntervalSince1970, parentID, payload, Job.encodeIDs(needs), completesParent]
    }

    static func encodeIDs(_ ids: [Int64]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }

    /// JSON text, slashes unescaped so the column stays readable in `sqlite3`.
    static func encodeOutputs(_ outputs: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding an array of strings cannot fail.
        return String(decoding: (try? encoder.encode(outputs)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
