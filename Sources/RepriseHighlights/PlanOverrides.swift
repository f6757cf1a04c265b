import Foundation

/// A person's corrections to a recording's plan, made in the review console and kept in the job
/// store (versioned): applied by every later highlights run of the recording, so a re-run (a
/// recipe change, a retry) keeps them.
public struct PlanOverrides: Codable, Sendable, Equatable {
    /// The store's version of this override (for the plan's notes).
    public var version: Int?
    /// The reel's windows, `[start, end]` in seconds on the recording's timeline, replacing the
    /// picked ones: in order, none overlapping.
    public var windows: [[Double]]?

    public init(version: Int? = nil, windows: [[Double]]? = nil) { self.version = version; self.windows = windows }

    /// Reads and checks an override; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws -> PlanOverrides {
        let o: PlanOverrides
        do { o = try JSONDecoder().decode(PlanOverrides.self, from: data) } catch {
            throw PlanOverridesError("\(source): not a plan override (\(error.localizedDescription))")
        }
        try o.check(duration: nil, source: source)
        return o
    }

    /// Every window inside the recording (when `duration` is known), at least a frame long, in
    /// order and not overlapping.
    public func check(duration: Double?, source: String) throws {
        guard let windows else { return }
        guard !windows.isEmpty, windows.count <= 1000 else { throw PlanOverridesError("\(source): windows: 1 to 1000 of them") }
        var previousEnd = -Double.infinity
        for (i, w) in windows.enumerated() {
            guard w.count == 2, w.allSatisfy(\.isFinite), w[0] >= 0, w[1] - w[0] >= 0.001 else {
                throw PlanOverridesError("\(source): window \(i + 1) must be [start, end] with 0 <= start < end")
            }
            if let duration, w[1] > duration + 0.001 {
                throw PlanOverridesError(String(format: "%@: window %d ends at %.3f s, after the recording (%.3f s)", source, i + 1, w[1], duration))
            }
            guard w[0] >= previousEnd - 1e-9 else {
                throw PlanOverridesError("\(source): window \(i + 1) starts before window \(i) ends (in order, not overlapping)")
            }
            previousEnd = w[1]
        }
    }
}

public struct PlanOverridesError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
