import RepriseDaemon

extension StoreOpener {
    /// The job-store engines this executable links: the one place a new engine is registered
    /// (`reprise daemon`, `reprise jobs` and `reprise nodes` all open stores through it).
    /// PostgreSQL: replace `sqliteOnly` with `StoreOpener(openPostgres: { try PostgresJobStore(url: $0) })`.
    static var reprise: StoreOpener { .sqliteOnly }
}
