import Foundation

/// A job store failure, worded for a person: names the database or the job.
public struct JobStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
