import Foundation
import Glibc

/// Runs one job as a child `reprise` process (the same binary), so a stalled or crashing encode
/// never takes the daemon down, and stopping a job is a signal: the child's own handlers remove
/// its partial outputs. Progress lines on the child's stdout feed a stall watchdog.
public final class JobRunner: @unchecked Sendable {
    public enum Outcome: Sendable {
        case finished(result: String)
        case failed(message: String)
        /// Stopped by us: shutdown, cancellation or the stall watchdog.
        case stopped(reason: String)
    }

    private let lock = NSLock()
    private var process: Process?
    private var stopReason: String?

    public init() {}

    /// Runs `arguments` (after the executable) and waits. `shouldStop` is polled about every
    /// second; a non-nil answer stops the child with SIGTERM (SIGKILL 20 s later).
    public func run(executable: String, arguments: [String], stallSeconds: Double,
                    shouldStop: @escaping @Sendable () -> String?, onProgress: @escaping @Sendable (String) -> Void) -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // The child binds its life to ours (reprise's DaemonChildLifeline).
        env["REPRISE_DAEMON_CHILD"] = String(getpid())
        env.removeValue(forKey: "NOTIFY_SOCKET")  // the child is not the service
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let state = OutputState()
        // Both pipes are read to their end before the outcome is judged: the result line and the
        // error line are the last things a child writes.
        let drained = DispatchGroup()
        drained.enter(); drained.enter()
        out.fileHandleForReading.readabilityHandler = { h in
            let data = h.availableData
            if data.isEmpty { h.readabilityHandler = nil; drained.leave(); return }
            state.append(stdout: data, onLine: onProgress)
        }
        err.fileHandleForReading.readabilityHandler = { h in
            let data = h.availableData
            if data.isEmpty { h.readabilityHandler = nil; drained.leave(); return }
            state.append(stderr: data)
        }
        do { try p.run() } catch {
            return .failed(message: "can't start \(executable): \(error.localizedDescription)")
        }
        lock.withLock { process = p }
        var killAt: Date? = nil
        while p.isRunning {
            usleep(200_000)
            if killAt == nil {
                var reason = shouldStop()
                if reason == nil, Date().timeIntervalSince(state.lastActivity) > stallSeconds {
                    reason = String(format: "no progress for %.0f s (stall watchdog)", stallSeconds)
                }
                if let reason {
                    lock.withLock { stopReason = reason }
                    kill(p.processIdentifier, SIGTERM)
                    killAt = Date().addingTimeInterval(20)
                }
            } else if let at = killAt, Date() > at {
                kill(p.processIdentifier, SIGKILL)
                killAt = .distantFuture
            }
        }
        p.waitUntilExit()
        _ = drained.wait(timeout: .now() + 10)
        lock.withLock { process = nil }
        if let reason = lock.withLock({ stopReason }) { return .stopped(reason: reason) }
        if p.terminationReason == .exit && p.terminationStatus == 0 {
            return .finished(result: state.lastStdoutLine)
        }
        let message = state.stderrText.split(whereSeparator: \.isNewline).last.map(String.init)?
            .replacingOccurrences(of: "reprise: error: ", with: "")
        let how = p.terminationReason == .uncaughtSignal ? "killed by signal \(p.terminationStatus)" : "exit \(p.terminationStatus)"
        return .failed(message: message ?? how)
    }

    /// Asks a running child to stop (shutdown): it removes its partial outputs and exits.
    public func stop(reason: String) {
        lock.withLock {
            guard let p = process, p.isRunning else { return }
            stopReason = reason
            kill(p.processIdentifier, SIGTERM)
        }
    }
}

/// What a child wrote, line by line; the time it last wrote anything.
final class OutputState: @unchecked Sendable {
    private let lock = NSLock()
    private var stdoutBuffer = Data()
    private var lastLine = ""
    private var stderrData = Data()
    private var activity = Date()

    var lastActivity: Date { lock.withLock { activity } }
    var lastStdoutLine: String { lock.withLock { lastLine } }
    var stderrText: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }

    func append(stdout data: Data, onLine: (String) -> Void) {
        var lines: [String] = []
        lock.withLock {
            activity = Date()
            stdoutBuffer.append(data)
            while let nl = stdoutBuffer.firstIndex(of: 0x0A) {
                let line = String(decoding: stdoutBuffer[stdoutBuffer.startIndex..<nl], as: UTF8.self)
                stdoutBuffer.removeSubrange(stdoutBuffer.startIndex...nl)
                if !line.isEmpty { lastLine = line; lines.append(line) }
            }
        }
        lines.forEach(onLine)
    }

    func append(stderr data: Data) {
        lock.withLock {
            activity = Date()
            stderrData.append(data)
            if stderrData.count > 65536 { stderrData.removeFirst(stderrData.count - 65536) }
        }
    }
}
