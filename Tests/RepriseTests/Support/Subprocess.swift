import Foundation

/// What an external program left behind: exit status and everything it printed.
struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: Data
    var stderr: Data

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// Non-empty lines of stderr.
    var stderrLines: [String] {
        stderrText.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}

struct SubprocessError: Error, CustomStringConvertible {
    var description: String
}

/// Runs external programs (ffmpeg, ffprobe, reprise) with Foundation `Process`.
///
/// stdout and stderr go to temporary files rather than pipes, so a program that prints a lot
/// can never dead-lock against us; stdin can be streamed through a `Pipe` by `feed`.
enum Subprocess {
    /// A broken stdin pipe (the child died early) must surface as a thrown write error,
    /// not kill the whole test process.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Absolute path of `name`, looked up in $PATH (or `name` itself when it contains a slash).
    static func executable(_ name: String) throws -> URL {
        if name.contains("/") { return URL(fileURLWithPath: name) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw SubprocessError(description: "\(name) not found in PATH")
    }

    /// Runs `program args`, waits at most `timeout` seconds (then kills it and throws).
    /// `feed`, when given, is called with the write end of the child's stdin and must return
    /// when it has written everything; the pipe is closed afterwards.
    static func run(_ program: String, _ args: [String], timeout: TimeInterval = 600,
                    environment: [String: String] = [:],
                    feed: ((FileHandle) throws -> Void)? = nil) throws -> ProcessOutput {
        _ = ignoreSIGPIPE
        let process = Process()
        process.executableURL = try executable(program)
        process.arguments = args
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }

        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("reprise-subprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle

        let stdinPipe = feed == nil ? nil : Pipe()
        process.standardInput = stdinPipe ?? FileHandle.nullDevice

        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        try? outHandle.close()
        try? errHandle.close()

        var feedError: Error?
        if let feed, let stdinPipe {
            do { try feed(stdinPipe.fileHandleForWriting) } catch { feedError = error }
            try? stdinPipe.fileHandleForWriting.close()
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = exited.wait(timeout: .now() + 10)
            throw SubprocessError(description:
                "\(program) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        let result = ProcessOutput(status: process.terminationStatus,
                                   stdout: (try? Data(contentsOf: outURL)) ?? Data(),
                                   stderr: (try? Data(contentsOf: errURL)) ?? Data())
        if let feedError, result.status == 0 {
            throw SubprocessError(description: "writing to \(program)'s stdin failed: \(feedError)")
        }
        return result
    }

    /// Like `run`, but throws unless the program exits 0; returns its stdout.
    @discardableResult
    static func checked(_ program: String, _ args: [String], timeout: TimeInterval = 600,
                        feed: ((FileHandle) throws -> Void)? = nil) throws -> Data {
        let result = try run(program, args, timeout: timeout, feed: feed)
        guard result.status == 0 else {
            throw SubprocessError(description: """
                \(program) \(args.joined(separator: " ")) exited \(result.status):
                \(result.stderrText.suffix(2000))
                """)
        }
        return result.stdout
    }
}
