import CFFmpeg

/// A libavfilter graph with two video inputs, `[main]` and `[ref]`, and one output, `[out]`:
/// for filters that compare pictures (psnr, ssim), which put their per-frame figures in the
/// output frame's metadata. Owns the graph.
public final class ComparisonGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let main: UnsafeMutablePointer<AVFilterContext>
    private let reference: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>

    public init(main mainInput: FilterGraph.VideoInput, reference refInput: FilterGraph.VideoInput, description: String) throws {
        guard let g = avfilter_graph_alloc() else { throw MediaError("filter graph", message: "out of memory") }
        graph = g
        func arguments(_ v: FilterGraph.VideoInput) -> String {
            let sar = v.sampleAspectRatio.num > 0 ? v.sampleAspectRatio : AVRational(num: 1, den: 1)
            return "video_size=\(v.width)x\(v.height):pix_fmt=\(v.pixelFormat):time_base=\(v.timeBase.num)/\(v.timeBase.den)"
                + ":pixel_aspect=\(sar.num)/\(sar.den)"
        }
        var m: UnsafeMutablePointer<AVFilterContext>? = nil
        var r: UnsafeMutablePointer<AVFilterContext>? = nil
        var o: UnsafeMutablePointer<AVFilterContext>? = nil
        do {
            try check(avfilter_graph_create_filter(&m, avfilter_get_by_name("buffer"), "main", arguments(mainInput), nil, g), "filter main input")
            try check(avfilter_graph_create_filter(&r, avfilter_get_by_name("buffer"), "ref", arguments(refInput), nil, g), "filter reference input")
            try check(avfilter_graph_create_filter(&o, avfilter_get_by_name("buffersink"), "out", nil, nil, g), "filter sink")
            var outputs = avfilter_inout_alloc()
            let second = avfilter_inout_alloc()
            var inputs = avfilter_inout_alloc()
            defer { avfilter_inout_free(&outputs); avfilter_inout_free(&inputs) }
            outputs!.pointee.name = av_strdup("main"); outputs!.pointee.filter_ctx = m; outputs!.pointee.pad_idx = 0
            second!.pointee.name = av_strdup("ref"); second!.pointee.filter_ctx = r; second!.pointee.pad_idx = 0
            outputs!.pointee.next = second
            inputs!.pointee.name = av_strdup("out"); inputs!.pointee.filter_ctx = o; inputs!.pointee.pad_idx = 0
            try check(avfilter_graph_parse_ptr(g, description, &inputs, &outputs, nil), "filter description '\(description)'")
            try check(avfilter_graph_config(g, nil), "configure filters '\(description)'")
        } catch {
            avfilter_graph_free(&graph)
            throw error
        }
        main = m!; reference = r!; sink = o!
    }

    deinit { avfilter_graph_free(&graph) }

    /// A frame for `[main]` (the graph keeps its own reference); nil ends that input.
    public func send(main frame: Frame?) throws {
        try check(av_buffersrc_add_frame_flags(main, frame?.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "filter main input")
    }

    /// A frame for `[ref]`; nil ends that input.
    public func send(reference frame: Frame?) throws {
        try check(av_buffersrc_add_frame_flags(reference, frame?.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "filter reference input")
    }

    public func receive(into frame: Frame) throws -> CodecResult {
        frame.unref()
        let r = av_buffersink_get_frame(sink, frame.pointer)
        if r == AVERROR_EAGAIN_VALUE { return .needsMoreInput }
        if r == AVERROR_EOF_VALUE { return .endOfStream }
        try check(r, "filter output")
        return .ok
    }
}

extension Frame {
    /// A value of the frame's metadata (filters such as psnr and ssim write theirs there).
    public func metadata(_ key: String) -> String? {
        guard let e = av_dict_get(pointer.pointee.metadata, key, nil, 0), let v = e.pointee.value else { return nil }
        return String(cString: v)
    }
}
