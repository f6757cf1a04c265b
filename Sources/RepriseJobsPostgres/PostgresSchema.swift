import Logging
import PostgresNIO

/// The PostgreSQL job store's schema, as numbered migrations recorded in `schema_version`. The
/// store runs them when it opens, in one transaction under a transaction-scoped advisory lock, so
/// several nodes starting at once agree: one migrates, the others wait and then find nothing to do.
/// Never edit a migration that has shipped; add the next one.
///
/// Same columns as the SQLite schema (Migrations.swift), in PostgreSQL's types: times are
/// `double precision` seconds since 1970 (so a `Date` round-trips exactly, as in SQLite), id
/// lists and output lists are arrays. Unquoted names fold to lower case; queries name columns
/// the same way.
enum PostgresSchema {
    /// The advisory lock key every node's migration takes ("reprise schema" in ASCII, in 64 bits).
    static let migrationLock: Int64 = 0x7265_7072_6973_6531

    static let migrations: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE job (
                id bigserial PRIMARY KEY,
                inputPath text NOT NULL,
                inputSize bigint NOT NULL,
                inputModified double precision NOT NULL,
                inputHash text NOT NULL,
                watchFolder text NOT NULL,
                kind text NOT NULL,
                priority bigint NOT NULL,
                state text NOT NULL
                    CHECK (state IN ('queued', 'running', 'waiting', 'done', 'failed', 'quarantined', 'cancelled')),
                attempts bigint NOT NULL DEFAULT 0,
                lastError text,
                outputs text[] NOT NULL DEFAULT '{}',
                createdAt double precision NOT NULL,
                startedAt double precision,
                finishedAt double precision,
                notBefore double precision,
                workerPID bigint,
                node text,
                fence bigint NOT NULL DEFAULT 0,
                leaseUntil double precision,
                parentID bigint REFERENCES job(id) ON DELETE CASCADE,
                payload text,
                needs bigint[] NOT NULL DEFAULT '{}',
                completesParent boolean NOT NULL DEFAULT false
            )
            """,
            // "Never processed twice" for top-level jobs; children share their parent's input.
            "CREATE UNIQUE INDEX job_identity ON job (inputPath, inputHash, kind) WHERE parentID IS NULL",
            // claimNext's scan: only queued rows, in claim order.
            "CREATE INDEX job_runnable ON job (priority, createdAt, id) WHERE state = 'queued'",
            "CREATE INDEX job_state ON job (state)",
            "CREATE INDEX job_parent ON job (parentID)",
            """
            CREATE TABLE node (
                name text PRIMARY KEY,
                host text NOT NULL,
                pid bigint NOT NULL,
                role text NOT NULL,
                load double precision NOT NULL,
                running bigint[] NOT NULL DEFAULT '{}',
                watching text[] NOT NULL DEFAULT '{}',
                startedAt double precision NOT NULL,
                seenAt double precision NOT NULL
            )
            """,
        ]),
        (2, [
            // The console's edits of a recording's plan, every version kept.
            """
            CREATE TABLE plan_override (
                recordingPath text NOT NULL,
                recordingHash text NOT NULL,
                version integer NOT NULL,
                body text NOT NULL,
                createdAt double precision NOT NULL,
                PRIMARY KEY (recordingPath, recordingHash, version)
            )
            """,
        ]),
        (3, [
            // Running jobs' progress in the heartbeat, so a console on any node shows it.
            "ALTER TABLE node ADD COLUMN progress text NOT NULL DEFAULT '[]'",
        ]),
    ]

    static var latest: Int { migrations.last!.version }

    /// Brings the database to `latest`, on `connection` (a session of its own, not the pool's).
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)", logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_version",
                                                               logger: logger).decode(Int.self) {
                current = version
            }
            guard current <= latest else {
                throw PostgresSchemaTooNew(found: current, known: latest)
            }
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_version (version) VALUES (\(migration.version))", logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

/// A database migrated by a newer Reprise than this one.
struct PostgresSchemaTooNew: Error, CustomStringConvertible {
    var found: Int
    var known: Int
    var description: String {
        "the schema is at version \(found), newer than this reprise knows (\(known)); upgrade reprise on this node"
    }
}
