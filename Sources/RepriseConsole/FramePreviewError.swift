import Foundation
import RepriseCut
import RepriseMedia

/// Why a frame preview could not be made: which recording, what is wrong, in one line. `reason`
/// lets the HTTP layer pick a status (a time outside the recording is the caller's mistake, an
/// unreadable file is not).
public struct FramePreviewError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        /// The time or frame number lies outside the recording.
        case outsideRecording = "outside the recording"
        /// Missing, not a regular file, not media, or damaged where it had to be read.
        case unreadable
        /// A media file without a video stream (or without one readable frame).
        case noVideo = "no video"
        /// Anything else (a decoder or encoder failure).
        case failed
    }
    public var reason: Reason
    public var path: String
    public var detail: String

    public init(_ reason: Reason, path: String, detail: String) {
        self.reason = reason; self.path = path; self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }

    /// The same failure told as a preview error; the cut engine's codes map onto reasons.
    init(_ error: Error, path: String) {
        switch error {
        case let e as FramePreviewError:
            self = e
        case let e as CutError:
            let reason: Reason
            switch e.code {
            case .badRange, .badTime: reason = .outsideRecording
            case .missingInput, .unreadableInput, .notMedia, .truncated: reason = .unreadable
            case .noVideo: reason = .noVideo
            default: reason = .failed
            }
            self.init(reason, path: path, detail: e.detail)
        case let e as MediaError:
            self.init(.failed, path: path, detail: e.description)
        default:
            self.init(.failed, path: path, detail: "\(error)")
        }
    }
}
