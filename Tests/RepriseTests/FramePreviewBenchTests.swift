import Foundation
import RepriseConsole
import XCTest

/// A measurement, not a test that times anything: skipped unless REPRISE_PREVIEW_BENCH names
/// recordings (paths joined by ':'). For each, it prints the first open (index from the cache or
/// built) and p50/p99/max over REPRISE_PREVIEW_SEEKS (default 200) previews at random times.
///
///     REPRISE_PREVIEW_BENCH=/tmp/long.mp4:/tmp/short.mp4 swift test --filter FramePreviewBenchTests
final class FramePreviewBenchTests: XCTestCase {
    func testRandomSeekLatency() throws {
        let env = ProcessInfo.processInfo.environment
        guard let list = env["REPRISE_PREVIEW_BENCH"], !list.isEmpty else {
            throw XCTSkip("set REPRISE_PREVIEW_BENCH to recordings to measure")
        }
        let seeks = Int(env["REPRISE_PREVIEW_SEEKS"] ?? "") ?? 200
        let paths = list.split(separator: ":").map(String.init)
        XCTAssertFalse(paths.isEmpty)
        for path in paths {
            let previewer = FramePreviewer()
            var clock = ContinuousClock.now
            let first = try previewer.jpeg(recording: path, frameIndex: 0)
            let open = ContinuousClock.now - clock
            let last = try previewer.jpeg(recording: path, at: 0).seconds  // warm, same frame
            XCTAssertEqual(last, first.seconds)
            // The recording's length: the last frame's time, found through an out-of-range error.
            var duration = 0.0
            if let e = expectError(FramePreviewError.self, { try previewer.jpeg(recording: path, at: 1e8) }),
               let range = e.detail.range(of: "0 to ") {
                duration = Double(e.detail[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? 0
            }
            XCTAssertGreaterThan(duration, 0)
            var seed: UInt64 = 0x5EED
            var times: [Double] = []
            var bytes = 0
            func cpuMillis() -> Double {
                var usage = rusage()
                getrusage(RUSAGE_SELF.rawValue, &usage)
                let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
                let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
                return user + system
            }
            let cpuStart = cpuMillis()
            for _ in 0..<seeks {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let t = Double(seed >> 11) / Double(1 << 53) * duration * 0.999
                clock = ContinuousClock.now
                let image = try previewer.jpeg(recording: path, at: t)
                let elapsed = ContinuousClock.now - clock
                times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                bytes += image.data.count
            }
            let cpuPerSeek = (cpuMillis() - cpuStart) / Double(max(seeks, 1))
            times.sort()
            func pct(_ p: Double) -> Double { times[min(times.count - 1, Int(Double(times.count) * p))] }
            print(String(format: "preview-bench %@: %.0f s, %dx%d, first open %.0f ms; %d seeks: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; CPU %.1f ms a seek (all threads); mean JPEG %d bytes",
                         (path as NSString).lastPathComponent, duration, first.width, first.height,
                         Double(open.components.attoseconds) / 1e15 + Double(open.components.seconds) * 1000,
                         seeks, pct(0.5), pct(0.9), pct(0.99), times.last ?? 0, cpuPerSeek, bytes / max(seeks, 1)))
        }
        // Open and close over and over (capacity 1, two recordings in turn): memory must level off
        // if every FFmpeg object of an evicted recording is freed.
        guard paths.count >= 2 else { return }
        func residentMiB() -> Double {
            let fields = ((try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "").split(separator: " ")
            return fields.count > 1 ? (Double(fields[1]) ?? 0) * Double(getpagesize()) / 1_048_576 : 0
        }
        let churn = FramePreviewer(capacity: 1)
        var samples: [Double] = []
        for round in 0..<60 {
            _ = try churn.jpeg(recording: paths[round % 2], frameIndex: round)
            if round % 20 == 19 { samples.append(residentMiB()) }
        }
        print("preview-bench churn (60 opens, capacity 1): resident MiB after 20/40/60: \(samples.map { String(format: "%.0f", $0) })")
    }
}
