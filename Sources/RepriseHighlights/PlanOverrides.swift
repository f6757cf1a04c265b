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
    /// Products' spans, replacing the products file's (by id).
    public var products: [ProductEdit]?
    /// Outputs' titles, tags and descriptions, over the generated ones (by file name).
    public var outputs: [OutputEdit]?

    public init(version: Int? = nil, windows: [[Double]]? = nil, products: [ProductEdit]? = nil, outputs: [OutputEdit]? = nil) {
        self.version = version; self.windows = windows; self.products = products; self.outputs = outputs
    }

    /// This override with a newer edit over it: the newer windows replace these, products merge
    /// by id and outputs by file (a field given replaces that field). No version: the store gives one.
    public func merged(with newer: PlanOverrides) -> PlanOverrides {
        var products = self.products ?? []
        for p in newer.products ?? [] {
            if let i = products.firstIndex(where: { $0.id == p.id }) { products[i] = p } else { products.append(p) }
        }
        var outputs = self.outputs ?? []
        for o in newer.outputs ?? [] {
            if let i = outputs.firstIndex(where: { $0.file == o.file }) { outputs[i] = o.over(outputs[i]) } else { outputs.append(o) }
        }
        return PlanOverrides(windows: newer.windows ?? windows, products: products.isEmpty ? nil : products,
                             outputs: outputs.isEmpty ? nil : outputs)
    }

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
    /// order and not overlapping; products' spans and outputs' details as their checks say.
    public func check(duration: Double?, source: String) throws {
        if let products { try ProductEdit.check(products, duration: duration, source: source) }
        if let outputs { try OutputEdit.check(outputs, source: source) }
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
