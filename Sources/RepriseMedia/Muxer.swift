import CFFmpeg
import Glibc
import RepriseCore

/// An output file written under a temporary name beside its final path and published by
/// rename only when complete, so a failure never leaves a half-written file under the
/// name a user looks for. Owns the AVFormatContext and its IO.
public final class Muxer {
    public let finalPath: String
    public let temporaryPath: String
    public let context: UnsafeMutablePointer<AVFormatContext>
    private var headerWritten = false
    private var finished = false

    /// - Parameter formatName: FFmpeg muxer name ("mp4", "matroska", "mpegts"), or nil to guess from the extension.
    public init(path: String, formatName: String? = nil) throws {
        finalPath = path
        temporaryPath = AtomicPublish.temporaryName(for: path)
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let r = avformat_alloc_output_context2(&ctx, nil, formatName, formatName == nil ? path : nil)
        guard r >= 0, let c = ctx else {
            throw MediaError(code: r < 0 ? r : cff_averror(EINVAL), operation: "choose output format")
        }
        context = c
        // Muxers that re-open their file (mp4 faststart's second pass) read the name from here.
        c.pointee.url = av_strdup(temporaryPath)
        TemporaryFiles.shared.register(temporaryPath)
        if c.pointee.oformat.pointee.flags & cff_fmt_flag_nofile() == 0 {
            // On failure nothing is freed or unregistered here: every stored property is set, so
            // `deinit` runs when init throws and does both, once (pb is still nil).
            let o = avio_open(&c.pointee.pb, temporaryPath, cff_avio_flag_write())
            if o < 0 { throw MediaError(code: o, operation: "create output") }
        }
    }

    deinit {
        if context.pointee.oformat.pointee.flags & cff_fmt_flag_nofile() == 0 {
            avio_closep(&context.pointee.pb)
        }
        avformat_free_context(context)
        if !finished { discard() }
    }

    /// `.name.partial-PID.ext` beside the final path: hidden, same filesystem, same extension.

    public var needsGlobalHeader: Bool { context.pointee.oformat.pointee.flags & cff_fmt_flag_globalheader() != 0 }
    public var formatName: String { String(cString: context.pointee.oformat.pointee.name) }

    public func addStream() throws -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(context, nil) else { throw MediaError("add output stream", message: "out of memory") }
        return st
    }

    public func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }
    public func timeBase(of index: Int) -> TimeBase { TimeBase(stream(index).pointee.time_base) }

    /// Adds a chapter (before `writeHeader`). The format context owns and frees it.
    public func addChapter(id: Int, start: Int64, end: Int64, timeBase: TimeBase, title: String) throws {
        guard let raw = av_mallocz(MemoryLayout<AVChapter>.size) else { throw MediaError("add chapter", message: "out of memory") }
        let chapter = raw.assumingMemoryBound(to: AVChapter.self)
        chapter.pointee.id = Int64(id)
        chapter.pointee.time_base = timeBase.rational
        chapter.pointee.start = start
        chapter.pointee.end = end
        av_dict_set(&chapter.pointee.metadata, "title", title, 0)
        let count = Int(context.pointee.nb_chapters)
        let size = MemoryLayout<UnsafeMutablePointer<AVChapter>?>.size
        guard let grown = av_realloc(context.pointee.chapters, (count + 1) * size) else {
            av_dict_free(&chapter.pointee.metadata)
            av_free(raw)
            throw MediaError("add chapter", message: "out of memory")
        }
        let list = grown.assumingMemoryBound(to: UnsafeMutablePointer<AVChapter>?.self)
        list[count] = chapter
        context.pointee.chapters = list
        context.pointee.nb_chapters = UInt32(count + 1)
    }

    public func writeHeader(options: [String: String] = [:]) throws {
        var dict: OpaquePointer? = nil
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        defer { av_dict_free(&dict) }
        try check(avformat_write_header(context, &dict), "write header")
        headerWritten = true
    }

    /// Writes a packet whose timestamps are already in the output stream's time base.
    public func write(_ packet: Packet) throws {
        try check(av_interleaved_write_frame(context, packet.pointer), "write packet")
    }

    /// Writes the trailer, flushes to disk, and renames the temporary file to its final name.
    public func finish() throws {
        try complete()
        try publish()
    }

    private var completed = false

    /// Writes the trailer and syncs the temporary file, without publishing it: several outputs
    /// are all completed before any is renamed, so a failure publishes none.
    public func complete() throws {
        guard !completed else { return }
        try check(av_write_trailer(context), "write trailer")
        if let pb = context.pointee.pb { avio_flush(pb) }
        avio_closep(&context.pointee.pb)
        do { try AtomicPublish.sync(temporaryPath) } catch { throw MediaError("complete output", message: "\(error)") }
        completed = true
    }

    /// Renames the completed temporary file to its final name.
    public func publish() throws {
        if !completed { try complete() }
        do { try AtomicPublish.rename(temporaryPath, to: finalPath) } catch let e as AtomicPublish.Failure {
            throw MediaError("publish output", message: e.reason)
        }
        TemporaryFiles.shared.unregister(temporaryPath)
        finished = true
    }

    /// Removes the temporary file (on failure or cancellation).
    public func discard() {
        unlink(temporaryPath)
        TemporaryFiles.shared.unregister(temporaryPath)
        finished = true
    }
}
