import Foundation

/// Where a test run keeps its files: one folder per test process, removed when the process
/// exits. Set REPRISE_TEST_DIR to use (and keep) a folder of your own; fixtures already made
/// there are reused by later runs, which makes the edit-build-test loop faster.
enum ScratchSpace {
    static let root: URL = {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["REPRISE_TEST_DIR"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir, isDirectory: true)
            try? fm.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        let url = fm.temporaryDirectory
            .appendingPathComponent("reprise-tests-\(getpid())-\(UUID().uuidString.prefix(8))",
                                    isDirectory: true)
        try? fm.createDirectory(at: url, withIntermediateDirectories: true)
        removeAtExit = url.path
        atexit {
            if let path = ScratchSpace.removeAtExit { try? FileManager.default.removeItem(atPath: path) }
        }
        return url
    }()

    /// Set once, before any test runs a tool; read only by the atexit handler.
    nonisolated(unsafe) private static var removeAtExit: String?

    /// Folder holding the fixtures of this run.
    static var fixtures: URL { folder("fixtures") }

    /// A new, empty folder, for one test's outputs.
    static func makeFolder(_ label: String) -> URL {
        let safe = label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let url = root.appendingPathComponent("work", isDirectory: true)
            .appendingPathComponent("\(String(safe))-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private static func folder(_ name: String) -> URL {
        let url = root.appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
