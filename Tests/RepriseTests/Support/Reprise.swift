import Foundation

/// The `reprise` program under test, run as a black box.
enum Reprise {
    /// REPRISE_BIN if set; else the `reprise` built beside the running test binary
    /// (`swift build`/`swift test` put both in .build/<triple>/debug).
    static let binary: URL? = {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["REPRISE_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var starts: [URL] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        starts.append(Bundle.main.bundleURL)
        starts.append(URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent())
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<5 {
                let candidate = dir.appendingPathComponent("reprise")
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                   fm.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }()

    struct Run: Sendable {
        var arguments: [String]
        var output: ProcessOutput

        var status: Int32 { output.status }
        var stderrLines: [String] { output.stderrLines }

        /// The last non-empty stdout line parsed as a JSON object (the `--json` summary).
        func summary() -> JSONValue? {
            guard let line = output.stdoutText.split(whereSeparator: \.isNewline)
                .last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
                  let value = JSONValue.parse(String(line)), value.object != nil else { return nil }
            return value
        }

        /// All of stdout as one JSON object (`probe --json`, pretty-printed or not), else the
        /// last line's.
        func json() -> JSONValue? {
            if let value = JSONValue.parse(output.stdout), value.object != nil { return value }
            return summary()
        }

        /// Everything it printed (notes go to stdout as JSON lines with --json, to stderr without).
        var transcriptText: String { output.stdoutText + output.stderrText }

        var transcript: String {
            "reprise \(arguments.joined(separator: " "))\n→ exit \(status)\nstdout: \(output.stdoutText.suffix(1500))\nstderr: \(output.stderrText.suffix(1500))"
        }
    }

    static func run(_ arguments: [String], timeout: TimeInterval = 300, environment: [String: String] = [:]) throws -> Run {
        guard let binary else {
            throw SubprocessError(description:
                "reprise binary not found: build it (swift build) or set REPRISE_BIN")
        }
        return Run(arguments: arguments, output: try Subprocess.run(binary.path, arguments, timeout: timeout, environment: environment))
    }
}
