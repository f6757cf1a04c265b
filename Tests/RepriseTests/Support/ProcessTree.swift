import Foundation

/// Processes as /proc shows them: who a process's children are, and whether one still runs.
/// A process is named by its pid and start time together, so a pid the kernel hands out again is
/// never taken for the process that had it.
struct LiveProcess: Hashable, CustomStringConvertible {
    var pid: Int32
    /// Clock ticks after boot (/proc/PID/stat field 22).
    var startTime: UInt64

    var description: String { "pid \(pid)" }

    /// The fields after the command name of /proc/PID/stat (the name may hold spaces and parentheses).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: data, encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// Field 3 (state) is fields[0], field 4 (parent) fields[1], field 22 (start time) fields[19].
    static func children(of parent: Int32) -> [LiveProcess] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).compactMap { pid in
            guard let f = statFields(pid), f.count > 19, Int32(f[1]) == parent, f[0] != "Z", let start = UInt64(f[19]) else { return nil }
            return LiveProcess(pid: pid, startTime: start)
        }
    }

    /// Still running: there, not a zombie (an orphan's corpse waits for a reaper that may never
    /// come in a container), and the same process as when it was named.
    var isRunning: Bool {
        guard let f = Self.statFields(pid), f.count > 19 else { return false }
        return f[0] != "Z" && UInt64(f[19]) == startTime
    }

    /// Its threads now (0 once gone).
    var threadCount: Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).count }

    /// What /proc/PID/status says of its state and signals (for messages).
    var status: String {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { ["State", "PPid", "SigPnd", "ShdPnd", "SigBlk", "Threads"].contains($0.split(separator: ":").first ?? "") }
            .joined(separator: "; ")
    }

    /// Its command line, arguments separated by spaces.
    var commandLine: String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }
}

/// Numbers a test can replay: SplitMix64 from a seed the test prints.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed in `variable` when set, else a fresh one.
    static func seed(from variable: String) -> UInt64 {
        ProcessInfo.processInfo.environment[variable].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
    }
}
