import Foundation

/// A job store failure, worded for a person: names the database or the job.
public struct JobStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A plan override saved over a version that is no longer the newest (someone saved meanwhile).
public struct OverrideConflict: Error, CustomStringConvertible, Sendable {
    public var newest: Int
    public init(newest: Int) { self.newest = newest }
    public var description: String { "version \(newest) of this recording's edits was saved meanwhile; load it and edit again" }
}
