import RepriseDaemon
import RepriseJobsPostgres

extension StoreOpener {
    /// The job-store engines this executable links: the one place a new engine is registered
    /// (`reprise daemon`, `reprise jobs` and `reprise nodes` all open stores through it).
    static var reprise: StoreOpener { StoreOpener(openPostgres: { try PostgresJobStore(url: $0) }) }
}
