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

        migrator.registerMigration("v2: leases, fencing, child jobs, nodes") { db in
            // A claim's fencing token grows at every claim and is never reused; the lease deadline is
            // what recovery reads instead of process liveness, so it works across machines too.
            for column in ["node TEXT", "fence INTEGER NOT NULL DEFAULT 0", "leaseUntil REAL",
                           "parentID INTEGER REFERENCES job(id) ON DELETE CASCADE", "payload TEXT",
                           "needs TEXT NOT NULL DEFAULT '[]'", "completesParent INTEGER NOT NULL DEFAULT 0"] {
                try db.execute(sql: "ALTER TABLE job ADD COLUMN \(column)")
            }
            // 'waiting' joins the states: SQLite can't alter a CHECK, so the table is rebuilt.
            try db.execute(sql: """
                CREATE TABLE job_v2 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    inputPath TEXT NOT NULL,
                    inputSize INTEGER NOT NULL,
                    inputModified REAL NOT NULL,
                    inputHash TEXT NOT NULL,
                    watchFolder TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    state TEXT NOT NULL
                        CHECK (state IN ('queued', 'running', 'waiting', 'done', 'failed', 'quarantined', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lastError TEXT,
                    outputs TEXT NOT NULL DEFAULT '[]',
                    createdAt REAL NOT NULL,
                    startedAt REAL,
                    finishedAt REAL,
                    notBefore REAL,
                    workerPID INTEGER,
                    node TEXT,
                    fence INTEGER NOT NULL DEFAULT 0,
                    leaseUntil REAL,
                    parentID INTEGER REFERENCES job_v2(id) ON DELETE CASCADE,
                    payload TEXT,
                    needs TEXT NOT NULL DEFAULT '[]',
                    completesParent INTEGER NOT NULL DEFAULT 0
                )
                """)
            try db.execute(sql: "INSERT INTO job_v2 SELECT * FROM job")
            try db.execute(sql: "DROP TABLE job")
            try db.execute(sql: "ALTER TABLE job_v2 RENAME TO job")
            // Children share their parent's input and kind family, so "never twice" is for top-level jobs.
            try db.execute(sql: "CREATE UNIQUE INDEX job_identity ON job (inputPath, inputHash, kind) WHERE parentID IS NULL")
            try db.execute(sql: "CREATE INDEX job_runnable ON job (state, priority, createdAt)")
            try db.execute(sql: "CREATE INDEX job_parent ON job (parentID)")
            try db.execute(sql: """
                CREATE TABLE node (
                    name TEXT PRIMARY KEY,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    role TEXT NOT NULL,
                    load REAL NOT NULL,
                    running TEXT NOT NULL DEFAULT '[]',
                    watching TEXT NOT NULL DEFAULT '[]',
                    startedAt REAL NOT NULL,
                    seenAt REAL NOT NULL
                )
                """)
        }

        migrator.registerMigration("v3: plan overrides") { db in
            // The console's edits of a recording's plan, every version kept.
            try db.execute(sql: """
                CREATE TABLE plan_override (
                    recordingPath TEXT NOT NULL,
                    recordingHash TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    createdAt REAL NOT NULL,
                    PRIMARY KEY (recordingPath, recordingHash, version)
                )
                """)
        }

        migrator.registerMigration("v4: progress in heartbeats") { db in
            // Running jobs' progress, so a console on any node shows what every node is doing.
            try db.execute(sql: "ALTER TABLE node ADD COLUMN progress TEXT NOT NULL DEFAULT '[]'")
        }

        return migrator
    }
}
