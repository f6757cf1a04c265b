import Foundation
import RepriseCut
import RepriseMedia

/// One frame of a recording as a JPEG, and where it sits on the recording's timeline.
public struct FramePreviewImage: Sendable, Equatable {
    /// The JPEG file's bytes.
    public var data: Data
    /// 0-based position of the frame in presentation order on the recording's closed-up
    /// timeline: the `N` of `reprise cut --from fN`.
    public var frameIndex: Int
    /// The frame's time in seconds from the recording's start, on the same timeline.
    public var seconds: Double
    public var width: Int
    public var height: Int
    public init(data: Data, frameIndex: Int, seconds: Double, width: Int, height: Int) {
        self.data = data; self.frameIndex = frameIndex; self.seconds = seconds; self.width = width; self.height = height
    }
}

/// A recording's extent on the cut engine's timeline: frames `0..<frameCount` (the `N` of
/// `fN`), times `0..<duration` seconds (the end of the last frame).
public struct FramePreviewTimeline: Sendable, Equatable {
    public var frameCount: Int
    public var duration: Double
    public init(frameCount: Int, duration: Double) { self.frameCount = frameCount; self.duration = duration }
}

/// Exact-frame previews for the review console: the frame a cut starting at a time would start
/// with, decoded through the media layer and returned as a JPEG.
///
/// Cost per preview: the packet index is held in memory (built once, through the cut engine's
/// on-disk cache), so finding the frame is a binary search; then one seek to the random-access
/// point at or before it and a decode of at most one GOP. Neither grows with the recording's
/// length. A few recordings are kept open (least recently used first out); each is used by
/// one caller at a time, different recordings in parallel. Safe to call from many tasks.
public final class FramePreviewer: @unchecked Sendable {
    /// Recordings kept open at most.
    public let capacity: Int
    private let decoderThreads: Int
    private let lock = NSLock()
    /// Open recordings by path; `recency` has the most recently used last.
    private var slots: [String: Slot] = [:]
    private var recency: [String] = []

    /// A recording's place in the cache: its lock is held while it is opened or used, so a
    /// slow first open (indexing a long recording) holds up only callers of that recording.
    private final class Slot {
        let lock = NSLock()
        var recording: PreviewRecording? = nil
    }

    /// - Parameters:
    ///   - capacity: recordings kept open (each holds a demuxer, decoders and its index in memory).
    ///   - decoderThreads: threads per decoder; 0 lets libavcodec pick (all cores).
    public init(capacity: Int = 4, decoderThreads: Int = 0) {
        self.capacity = max(capacity, 1)
        self.decoderThreads = decoderThreads
    }

    /// The frame a cut starting at `seconds` would start with (the first frame presented at or
    /// after it, on the cut engine's timeline), at most `maxWidth` pixels wide.
    /// - Throws: `FramePreviewError` naming the file: `.outsideRecording` for a time before 0 or
    ///   at/after the end of the last frame, `.unreadable`, `.noVideo`, `.failed`.
    public func jpeg(recording path: String, at seconds: Double, maxWidth: Int = 640) throws -> FramePreviewImage {
        try withRecording(path) { recording in
            guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { throw outside(recording, "time \(seconds)") }
            let position: Int
            do { position = try recording.planner.firstFrame(from: .seconds(seconds)) } catch let e as CutError where e.code == .badRange {
                throw outside(recording, "time \(String(format: "%.3fs", seconds))")
            }
            // Inside the last frame's span but after its start: no cut can start there.
            guard position < recording.frameCount else {
                let last = recording.frameCount - 1
                throw FramePreviewError(.outsideRecording, path: path, detail: String(
                    format: "no frame starts at or after %.3fs (the last, f%d, starts at %.3fs)", seconds, last, recording.seconds(ofFrame: last)))
            }
            return try recording.jpeg(frame: position, maxWidth: maxWidth)
        }
    }

    /// The frame at `frameIndex` (0-based, presentation order on the cut engine's timeline: the
    /// `N` of `--from fN`), for moving an edge by one frame.
    public func jpeg(recording path: String, frameIndex: Int, maxWidth: Int = 640) throws -> FramePreviewImage {
        try withRecording(path) { recording in
            guard frameIndex >= 0, frameIndex < recording.frameCount else { throw outside(recording, "frame f\(frameIndex)") }
            return try recording.jpeg(frame: frameIndex, maxWidth: maxWidth)
        }
    }

    /// Opens the recording (building its packet index if no cache holds it) without decoding,
    /// e.g. when a review page is shown, so the first preview doesn't wait for it; and says how
    /// many frames it has and how long it is, on the cut engine's timeline.
    @discardableResult
    public func prepare(recording path: String) throws -> FramePreviewTimeline {
        try withRecording(path) { recording in
            FramePreviewTimeline(frameCount: recording.frameCount, duration: recording.planner.durationSeconds)
        }
    }

    /// Closes the recording if it is open (e.g. it was deleted or replaced).
    public func forget(recording path: String) {
        lock.lock(); defer { lock.unlock() }
        slots[path] = nil
        recency.removeAll { $0 == path }
    }

    /// Paths of the recordings open now, most recently used last.
    public var openRecordings: [String] {
        lock.lock(); defer { lock.unlock() }
        return recency
    }

    private func outside(_ recording: PreviewRecording, _ what: String) -> FramePreviewError {
        let end = recording.planner.durationSeconds
        return FramePreviewError(.outsideRecording, path: recording.path,
                                 detail: "\(what) is outside the recording (\(recording.frameCount) frames, 0 to \(String(format: "%.3fs", end)))")
    }

    /// Runs `body` with the recording open and held by this caller alone; reopens it when the
    /// file changed since it was opened. Every failure comes out as a `FramePreviewError`.
    private func withRecording<T>(_ path: String, _ body: (PreviewRecording) throws -> T) throws -> T {
        let slot = take(path)
        slot.lock.lock()
        defer { slot.lock.unlock() }
        do {
            let current = try FileIdentity(path: path)
            if let open = slot.recording, open.matches(current) {
                return try body(open)
            }
            slot.recording = nil  // the old one's FFmpeg objects go before the new ones are made
            let opened = try PreviewRecording(path: path, decoderThreads: decoderThreads)
            slot.recording = opened
            return try body(opened)
        } catch {
            let e = FramePreviewError(error, path: path)
            // A file that can't be opened is not kept (it may be fixed, or appear, later).
            if e.reason == .unreadable || e.reason == .noVideo { forget(recording: path) }
            throw e
        }
    }

    /// The slot for `path`, made most recently used; the least recently used beyond `capacity`
    /// are dropped (closed once no caller holds them).
    private func take(_ path: String) -> Slot {
        lock.lock(); defer { lock.unlock() }
        recency.removeAll { $0 == path }
        recency.append(path)
        if let s = slots[path] { return s }
        let s = Slot()
        slots[path] = s
        while recency.count > capacity {
            slots[recency.removeFirst()] = nil
        }
        return s
    }
}
