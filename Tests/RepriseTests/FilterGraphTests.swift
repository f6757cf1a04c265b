import CFFmpeg
import XCTest
@testable import RepriseMedia

/// The media layer's libavfilter wrapper, driven with frames made in memory.
final class FilterGraphTests: XCTestCase {
    func videoFrame(_ index: Int, width: Int = 320, height: Int = 240) throws -> Frame {
        let f = Frame()
        f.pointer.pointee.width = Int32(width); f.pointer.pointee.height = Int32(height)
        f.pointer.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        try check(av_frame_get_buffer(f.pointer, 0), "buffer")
        let p = f.pointer.pointee
        // Left half dark, right half bright: a crop that keeps the right half must come out bright.
        for row in 0..<height {
            let line = p.data.0!.advanced(by: row * Int(p.linesize.0))
            for col in 0..<width { line[col] = col < width / 2 ? 20 : 220 }
        }
        for row in 0..<(height / 2) {
            p.data.1!.advanced(by: row * Int(p.linesize.1)).update(repeating: 128, count: width / 2)
            p.data.2!.advanced(by: row * Int(p.linesize.2)).update(repeating: 128, count: width / 2)
        }
        f.pts = Int64(index)
        return f
    }

    func drain(_ graph: FilterGraph, into out: inout [Frame]) throws {
        while true {
            let f = Frame()
            guard try graph.receive(into: f) == .ok else { return }
            out.append(f)
        }
    }

    func testScaleCropAndFrameRateCap() throws {
        var input = FilterGraph.VideoInput(width: 320, height: 240, pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: TimeBase(1, 30))
        input.frameRate = AVRational(num: 30, den: 1)
        let graph = try FilterGraph(video: input, description: "crop=160:240:160:0,scale=80:120,fps=15")
        var out: [Frame] = []
        for i in 0..<30 { try graph.send(try videoFrame(i)); try drain(graph, into: &out) }
        try graph.send(nil); try drain(graph, into: &out)
        XCTAssertEqual(graph.outputWidth, 80)
        XCTAssertEqual(graph.outputHeight, 120)
        XCTAssertEqual(out.count, 15, "30 frames at 30 fps capped to 15 fps")
        XCTAssertEqual(out.first?.width, 80)
        // The right (bright) half survived the crop.
        let luma = out[0].pointer.pointee.data.0![Int(out[0].pointer.pointee.linesize.0) * 60 + 40]
        XCTAssertGreaterThan(luma, 180)
        XCTAssertEqual(graph.outputTimeBase, TimeBase(1, 15))
    }

    func testAudioResampleAndGain() throws {
        let input = FilterGraph.AudioInput(sampleRate: 44100, sampleFormat: AV_SAMPLE_FMT_FLTP.rawValue, channels: 1,
                                           timeBase: TimeBase(1, 44100))
        let graph = try FilterGraph(audio: input, description: "volume=0.5,aresample=48000,aformat=sample_fmts=fltp")
        var total = 0, peak: Float = 0
        var pts: Int64 = 0
        for _ in 0..<44 {  // 44 × 1024 samples of a constant 0.8 signal
            let f = Frame()
            f.pointer.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            f.pointer.pointee.nb_samples = 1024
            f.pointer.pointee.sample_rate = 44100
            av_channel_layout_default(&f.pointer.pointee.ch_layout, 1)
            try check(av_frame_get_buffer(f.pointer, 0), "buffer")
            let s = UnsafeMutableRawPointer(f.pointer.pointee.data.0!).assumingMemoryBound(to: Float.self)
            for k in 0..<1024 { s[k] = 0.8 }
            f.pts = pts; pts += 1024
            try graph.send(f)
            var out: [Frame] = []
            try drain(graph, into: &out)
            for o in out {
                total += o.sampleCount
                let d = UnsafeMutableRawPointer(o.pointer.pointee.data.0!).assumingMemoryBound(to: Float.self)
                for k in 0..<o.sampleCount { peak = max(peak, d[k]) }
            }
        }
        try graph.send(nil)
        var rest: [Frame] = []
        try drain(graph, into: &rest)
        total += rest.reduce(0) { $0 + $1.sampleCount }
        XCTAssertEqual(graph.outputSampleRate, 48000)
        XCTAssertEqual(Double(total), 44.0 * 1024 * 48000 / 44100, accuracy: 64)
        XCTAssertEqual(Double(peak), 0.4, accuracy: 0.02)
    }

    func testABadDescriptionIsAnErrorNamingIt() {
        let input = FilterGraph.VideoInput(width: 320, height: 240, pixelFormat: AV_PIX_FMT_YUV420P.rawValue, timeBase: TimeBase(1, 30))
        XCTAssertThrowsError(try FilterGraph(video: input, description: "scale=80:120,nosuchfilter=3")) { error in
            XCTAssertTrue("\(error)".contains("nosuchfilter"), "\(error)")
        }
    }
}
