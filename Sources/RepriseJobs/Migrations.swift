import GRDB

/// The job store's schema, as GRDB migrations: each runs once per database, in order, inside a
/// write transaction, so a daemon and `reprise jobs` opening the same file at once agree.
/// Never edit a migration that has shipped; add the next one.
enum JobMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1: job") { db in
            // Dates are REAL seconds since 1970: they sort and compare in SQL (`notBefore <= ?`)
            // with sub-millisecond precision, and `datetime(x, 'unixepoch')` reads them.
            // The input identity is flattened into columns so it can be indexed and queried.
            try db.execute(sql: """
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    inputPath TEXT NOT NULL,
                    inputSize INTEGER NOT NULL,
                    inputModified REAL NOT NULL,
                    inputHash TEXT NOT NULL,
                    watchFolder TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    state TEXT NOT NULL
                        CHECK (state IN ('queued', 'running', 'done', 'failed', 'quarantined', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lastError TEXT,
                    outputs TEXT NOT NULL DEFAULT '[]',
                    createdAt REAL NOT NULL,
                    startedAt REAL,
                    finishedAt REAL,
                    notBefore REAL,
                    workerPID INTEGER
                )
                """)
            // The "never processed twice" rule lives in the schema, so it holds across processes.
            try db.execute(sql: "CREATE UNIQUE INDEX job_identity ON job (inputPath, inputHash, kind)")
            // claimNext's lookup.
            try db.execute(sql: "CREATE INDEX job_runnable ON job (state, priority, createdAt)")
        }

        return migrator
    }
}
