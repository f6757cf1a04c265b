import Foundation
import Glibc
import RepriseCut

protocol FinishingReporter: ProgressReporter { func finish() }

func makeReporter(json: Bool) -> FinishingReporter {
    if json { return JSONProgress() }
    return TerminalProgress(enabled: isatty(STDERR_FILENO) != 0)
}

/// A bar with ETA on stderr when it is a terminal; silent otherwise (notes still print).
final class TerminalProgress: FinishingReporter {
    let enabled: Bool
    private var stage = ""
    private var stageStart = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(stage: String, fraction: Double) {
        guard enabled else { return }
        if stage != self.stage { self.stage = stage; stageStart = Date() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 || fraction >= 1 else { return }
        lastDraw = now
        let f = min(max(fraction, 0), 1)
        let width = 30
        let filled = Int(Double(width) * f)
        let elapsed = now.timeIntervalSince(stageStart)
        let eta = f > 0.01 ? elapsed * (1 - f) / f : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "\r%-9@ [%@] %3d%% ETA %@", stage, bar, Int(f * 100), TerminalProgress.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func note(_ message: String) {
        finish()
        FileHandle.standardError.write(Data("reprise: note: \(message)\n".utf8))
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return String(format: "%d:%02d", t / 60, t % 60)
    }
}

/// One JSON object per line on stdout: {"event":"progress",...} and {"event":"note",...}.
final class JSONProgress: FinishingReporter {
    private var last: (String, Int) = ("", -1)
    func update(stage: String, fraction: Double) {
        let pct = Int(fraction * 100)
        guard (stage, pct) != last else { return }
        last = (stage, pct)
        emit(["event": "progress", "stage": stage, "fraction": (fraction * 1000).rounded() / 1000])
    }
    func note(_ message: String) { emit(["event": "note", "message": message]) }
    func finish() {}
    private func emit(_ obj: [String: Any]) {
        if let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
            print(String(decoding: d, as: UTF8.self))
            fflush(nil)
        }
    }
}
