import CFFmpeg

/// One owned AVFrame, reused across decodes.
public final class Frame {
    public let pointer: UnsafeMutablePointer<AVFrame>

    public init() {
        guard let f = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = f
    }
    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&f)
    }

    public var pts: Int64 { get { pointer.pointee.pts } set { pointer.pointee.pts = newValue } }
    /// The decoder's best guess at the presentation time (falls back when pts is missing).
    public var bestEffortTimestamp: Int64 {
        let t = pointer.pointee.best_effort_timestamp
        return t != NOPTS ? t : pointer.pointee.pts
    }
    public var sampleCount: Int { Int(pointer.pointee.nb_samples) }
    public var width: Int { Int(pointer.pointee.width) }
    public var height: Int { Int(pointer.pointee.height) }
    public func unref() { av_frame_unref(pointer) }

    /// Makes this frame a new reference to `other`'s data.
    public func reference(_ other: Frame) throws {
        av_frame_unref(pointer)
        try check(av_frame_ref(pointer, other.pointer), "av_frame_ref")
    }
}
