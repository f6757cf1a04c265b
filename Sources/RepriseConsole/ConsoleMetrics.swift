import Foundation
import Metrics
import Prometheus

/// The process's metrics, exported at `/metrics` in Prometheus text format. swift-metrics has
/// one backend a process, so it is bootstrapped once, by the first console made.
public enum ConsoleMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Jobs take seconds to hours and may wait days; HTTP requests keep the default buckets.
        let long = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 86400].map { Duration.seconds($0) }
        factory.durationHistogramBuckets = ["reprise_job_duration_seconds": long, "reprise_queue_wait_seconds": long]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Jobs by state, read from the store at scrape time (every node sees the same numbers).
    static func text(counts: [String: Int]) -> String {
        for (state, n) in counts {
            registry.makeGauge(name: "reprise_jobs", labels: [("state", state)]).set(Double(n))
        }
        return registry.emitToString()
    }
}
