import CFFmpeg

/// A libavfilter graph with one input and one output, e.g. "scale=1080:-2,crop=1080:1920" or
/// "aresample=48000,loudnorm=I=-14:TP=-1". Profiles, ladders and highlight signals use the
/// library's filters through this instead of hand-written pixel or sample loops. Owns the graph.
public final class FilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>

    /// Video input as the decoder gives it.
    public struct VideoInput: Sendable {
        public var width: Int, height: Int, pixelFormat: Int32
        public var timeBase: TimeBase
        public var sampleAspectRatio: AVRational = AVRational(num: 1, den: 1)
        public var frameRate: AVRational = AVRational(num: 0, den: 1)
        /// The decoder's colour (libavfilter 8's buffer source takes none: frames carry it).
        public var colour: ColourProperties? = nil
        public init(width: Int, height: Int, pixelFormat: Int32, timeBase: TimeBase) {
            self.width = width; self.height = height; self.pixelFormat = pixelFormat; self.timeBase = timeBase
        }
    }

    /// Audio input as the decoder gives it.
    public struct AudioInput: Sendable {
        public var sampleRate: Int, sampleFormat: Int32, channels: Int
        public var timeBase: TimeBase
        public init(sampleRate: Int, sampleFormat: Int32, channels: Int, timeBase: TimeBase) {
            self.sampleRate = sampleRate; self.sampleFormat = sampleFormat; self.channels = channels; self.timeBase = timeBase
        }
    }

    public convenience init(video input: VideoInput, description: String) throws {
        let sar = input.sampleAspectRatio.num > 0 ? input.sampleAspectRatio : AVRational(num: 1, den: 1)
        var args = "video_size=\(input.width)x\(input.height):pix_fmt=\(input.pixelFormat)"
            + ":time_base=\(input.timeBase.num)/\(input.timeBase.den):pixel_aspect=\(sar.num)/\(sar.den)"
        if input.frameRate.num > 0 { args += ":frame_rate=\(input.frameRate.num)/\(input.frameRate.den)" }
        try self.init(sourceFilter: "buffer", sinkFilter: "buffersink", sourceArguments: args, description: description)
    }

    public convenience init(audio input: AudioInput, description: String) throws {
        var layout = AVChannelLayout()
        av_channel_layout_default(&layout, Int32(input.channels))
        defer { av_channel_layout_uninit(&layout) }
        var name = [CChar](repeating: 0, count: 64)
        av_channel_layout_describe(&layout, &name, name.count)
        let format = av_get_sample_fmt_name(AVSampleFormat(rawValue: input.sampleFormat)).map { String(cString: $0) } ?? "fltp"
        let args = "time_base=\(input.timeBase.num)/\(input.timeBase.den):sample_rate=\(input.sampleRate)"
            + ":sample_fmt=\(format):channel_layout=\(String(cString: name))"
        try self.init(sourceFilter: "abuffer", sinkFilter: "abuffersink", sourceArguments: args, description: description)
    }

    private init(sourceFilter: String, sinkFilter: String, sourceArguments: String, description: String) throws {
        guard let g = avfilter_graph_alloc() else { throw MediaError("filter graph", message: "out of memory") }
        graph = g
        var src: UnsafeMutablePointer<AVFilterContext>? = nil
        var snk: UnsafeMutablePointer<AVFilterContext>? = nil
        do {
            try check(avfilter_graph_create_filter(&src, avfilter_get_by_name(sourceFilter), "in", sourceArguments, nil, g),
                      "filter source (\(sourceArguments))")
            try check(avfilter_graph_create_filter(&snk, avfilter_get_by_name(sinkFilter), "out", nil, nil, g), "filter sink")
            // The parser's open ends: "in" feeds the description, the description feeds "out".
            var outputs = avfilter_inout_alloc()
            var inputs = avfilter_inout_alloc()
            defer { avfilter_inout_free(&outputs); avfilter_inout_free(&inputs) }
            outputs!.pointee.name = av_strdup("in"); outputs!.pointee.filter_ctx = src; outputs!.pointee.pad_idx = 0
            inputs!.pointee.name = av_strdup("out"); inputs!.pointee.filter_ctx = snk; inputs!.pointee.pad_idx = 0
            try check(avfilter_graph_parse_ptr(g, description.isEmpty ? "null" : description, &inputs, &outputs, nil),
                      "filter description '\(description)'")
            try check(avfilter_graph_config(g, nil), "configure filters '\(description)'")
        } catch {
            avfilter_graph_free(&graph)
            throw error
        }
        source = src!
        sink = snk!
    }

    deinit { avfilter_graph_free(&graph) }

    /// Time base of the frames that come out (filters such as fps or aresample change it).
    public var outputTimeBase: TimeBase { TimeBase(av_buffersink_get_time_base(sink)) }
    public var outputWidth: Int { Int(av_buffersink_get_w(sink)) }
    public var outputHeight: Int { Int(av_buffersink_get_h(sink)) }
    public var outputSampleRate: Int { Int(av_buffersink_get_sample_rate(sink)) }
    /// Frame rate of the frames that come out, 0/1 when the graph does not know it.
    public var outputFrameRate: AVRational { av_buffersink_get_frame_rate(sink) }
    /// Sample format of the audio that comes out (an AVSampleFormat value).
    public var outputSampleFormat: Int32 { av_buffersink_get_format(sink) }

    /// Makes the audio sink hand out frames of exactly `samples` (the last may be shorter):
    /// encoders such as AAC (1024) and Opus (960) take fixed-size frames only.
    public func setOutputFrameSize(_ samples: Int) {
        av_buffersink_set_frame_size(sink, UInt32(samples))
    }

    /// Sends a runtime command to the filter named `target` (e.g. "crop@follow", "x", "120"),
    /// applied to the frames it processes from now on.
    public func sendCommand(target: String, command: String, argument: String) throws {
        var response = [CChar](repeating: 0, count: 64)
        try check(avfilter_graph_send_command(graph, target, command, argument, &response, Int32(response.count), 0),
                  "filter command \(target) \(command)=\(argument)")
    }

    /// Sends a frame in (the graph keeps its own reference); nil ends the stream.
    public func send(_ frame: Frame?) throws {
        try check(av_buffersrc_add_frame_flags(source, frame?.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "filter input")
    }

    /// Ends the input at `pts` (input time base): filters that time frames by the clock, such as
    /// fps, then know where the last frame ends instead of guessing from its start.
    public func close(at pts: Int64) throws {
        try check(av_buffersrc_close(source, pts, 0), "filter input end")
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
