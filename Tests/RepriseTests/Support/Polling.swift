import Foundation

/// Waiting in tests: a condition is polled against a deadline, never stood in for by a fixed pause.
/// This file holds the one place the tests pause between looks (`Polling.interval`).
enum Polling {
    /// Time between two looks at a condition.
    static let interval: TimeInterval = 0.05

    /// Pauses until the next look (at most `seconds`).
    fileprivate static func pauseBeforeNextLook(_ seconds: TimeInterval) {
        guard seconds > 0 else { return }
        _ = DispatchSemaphore(value: 0).wait(timeout: .now() + seconds)
    }
}

/// Polls `condition` every `interval` s until it holds (true) or `timeout` s have passed (false,
/// after one last look at the deadline). The caller asserts on the result.
@discardableResult
func pollUntil(timeout: TimeInterval, every interval: TimeInterval = Polling.interval,
               _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        let left = deadline.timeIntervalSinceNow
        if left <= 0 { return false }
        Polling.pauseBeforeNextLook(min(interval, left))
    }
}

/// Polls `condition` every `interval` s for `seconds` s: true when it held at every look (the last
/// one at the end of the period), false at the first look where it did not. For "nothing happens
/// while…" checks, which hold the condition for the whole period instead of looking once at its end.
func pollThroughout(seconds: TimeInterval, every interval: TimeInterval = Polling.interval,
                    _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while true {
        guard try condition() else { return false }
        let left = end.timeIntervalSinceNow
        if left <= 0 { return true }
        Polling.pauseBeforeNextLook(min(interval, left))
    }
}
