import CFFmpeg
import Foundation
import RepriseMedia

/// Where the `follow` crop window goes, frame by frame: towards the most salient stretch of the
/// picture along the window's axis (what stands out from its row or column — a presenter, a
/// product — rather than what spans the whole frame), smoothly, and straight there at a scene cut.
/// Pure state: fed a saliency profile and a scene-cut flag per frame, it returns the window start.
public struct FollowPath: Sendable {
    public let window: FollowWindow
    /// Source pixels along the axis.
    public let extent: Int
    /// Fraction of the distance to the target closed per frame (30 fps; scaled for other rates).
    let pull: Double
    /// Most the window moves per frame, in source pixels.
    let maxStep: Double
    /// Targets closer than this to the window's centre don't move it (no jitter).
    let deadZone: Double
    private var centre: Double?

    public init(window: FollowWindow, frameRate: Double) {
        self.window = window
        extent = window.travel + (window.axis == .horizontal ? window.width : window.height)
        let per30 = 30 / max(frameRate, 1)
        pull = min(1, 0.12 * per30)
        maxStep = Double(extent) * 0.02 * per30
        deadZone = Double(window.axis == .horizontal ? window.width : window.height) * 0.04
    }

    var span: Double { Double(window.axis == .horizontal ? window.width : window.height) }

    /// The best window centre for a saliency profile (one value per cell along the axis, the
    /// cells evenly covering the picture), or nil when nothing stands out.
    public func target(saliency: [Double]) -> Double? {
        guard !saliency.isEmpty else { return nil }
        let cell = Double(extent) / Double(saliency.count)
        let cells = max(1, min(saliency.count, Int((span / cell).rounded())))
        var sum = saliency[0..<cells].reduce(0, +)
        var best = sum, bestStart = 0
        var start = 1
        while start + cells <= saliency.count {
            sum += saliency[start + cells - 1] - saliency[start - 1]
            if sum > best { best = sum; bestStart = start }
            start += 1
        }
        guard best > 1e-6 else { return nil }
        // Many windows may hold the whole object: centre on its mass, not on the first of them.
        var moment = 0.0
        for i in bestStart..<(bestStart + cells) { moment += (Double(i) + 0.5) * saliency[i] }
        return moment / best * cell
    }

    /// Advances one frame; returns the window's start along its axis (0…travel).
    public mutating func step(saliency: [Double], sceneCut: Bool) -> Int {
        let wanted = target(saliency: saliency)
        if centre == nil || sceneCut, let wanted {
            centre = wanted
        } else if let wanted, let c = centre, abs(wanted - c) > deadZone {
            let move = max(-maxStep, min(maxStep, (wanted - c) * pull))
            centre = c + move
        }
        let c = centre ?? Double(extent) / 2
        return max(0, min(window.travel, Int((c - span / 2).rounded())))
    }
}

/// Feeds `FollowPath` from the frames themselves: a small gray copy of each (libavfilter's
/// scale, and scdet for scene cuts), a saliency profile from it, and a crop command to the
/// output's graph.
final class FollowTracker {
    private let analysis: FilterGraph
    private var path: FollowPath
    private let small = Frame()
    private var lastStart: Int?
    /// How many cells the profile has along the axis.
    private let cells: Int

    init(window: FollowWindow, input: FilterGraph.VideoInput, upright: [String], frameRate: Double) throws {
        path = FollowPath(window: window, frameRate: frameRate)
        // ~96 cells along the axis; scdet on the small picture is cheap and sees a cut as well.
        let along = 96
        let scale = window.axis == .horizontal ? "scale=\(along):-2" : "scale=-2:\(along)"
        cells = along
        let chain = (upright + [scale, "scdet=threshold=8", "format=gray"]).joined(separator: ",")
        analysis = try FilterGraph(video: input, description: chain)
    }

    /// Looks at the next source frame (before it enters the output's graph) and moves the window.
    func observe(_ frame: Frame, output: FilterGraph) throws {
        try analysis.send(frame)
        while try analysis.receive(into: small) == .ok {
            let f = small.pointer
            // scdet marks a frame that starts a new scene with lavfi.scd.time.
            let cut = f.pointee.metadata.map { av_dict_get($0, "lavfi.scd.time", nil, 0) != nil } ?? false
            let start = path.step(saliency: saliency(f), sceneCut: cut)
            if start != lastStart {
                lastStart = start
                let command = path.window.axis == .horizontal ? "x" : "y"
                try output.sendCommand(target: FollowWindow.filterName, command: command, argument: String(start))
            }
        }
    }

    /// Per cell along the axis: how far its pixels stand out from the median of their line across
    /// the axis. Whole-frame bands, backgrounds and gradients score nothing; an object scores.
    private func saliency(_ f: UnsafeMutablePointer<AVFrame>) -> [Double] {
        let w = Int(f.pointee.width), h = Int(f.pointee.height), stride = Int(f.pointee.linesize.0)
        guard let data = f.pointee.data.0, w > 0, h > 0 else { return [] }
        let horizontal = path.window.axis == .horizontal
        let lines = horizontal ? h : w, along = horizontal ? w : h
        var profile = [Double](repeating: 0, count: along)
        var line = [UInt8](repeating: 0, count: along)
        for l in 0..<lines {
            for a in 0..<along { line[a] = horizontal ? data[l * stride + a] : data[a * stride + l] }
            let median = Double(line.sorted()[along / 2])
            for a in 0..<along { profile[a] += abs(Double(line[a]) - median) }
        }
        return profile
    }
}
