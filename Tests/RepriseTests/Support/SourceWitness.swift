import Foundation

/// Everything the tests need to know about a fixture, read back from the file itself with
/// ffmpeg/ffprobe (never derived from index × 1/fps, so VFR and odd start times just work):
/// each frame's presentation time from the recording's start, keyframes and GOPs, packet bytes,
/// and the A/V offset at every beep. Read once per fixture and shared.
struct SourceWitness: Sendable {
    let fixture: Fixture
    let video: VideoReadback
    let audio: AudioReadback?
    /// Video packets in file (decode) order, with payload bytes.
    let packets: [FFprobe.Packet]
    /// Presentation time of frame `i` (barcode index i), seconds from the recording's start.
    let times: [Double]
    /// How long frame `i` is shown: until the next frame, or its packet duration for the last.
    let durations: [Double]
    /// Barcode index of each packet in `packets`, found by its presentation time.
    let packetFrame: [Int]
    /// Indices of keyframes (random-access packets), ascending.
    let keyframes: [Int]
    /// A/V offset (beep onset minus the time the first frame of that second is shown), by second.
    let avOffsets: [Int: Double]

    var url: URL { fixture.url }
    var frameCount: Int { times.count }
    var duration: Double { times[times.count - 1] + durations[durations.count - 1] }

    // MARK: reading

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [FixtureSpec: SourceWitness] = [:]

    static func of(_ spec: FixtureSpec) throws -> SourceWitness {
        let fixture = try Fixtures.get(spec)
        lock.lock()
        defer { lock.unlock() }
        if let witness = cache[spec] { return witness }
        let witness = try SourceWitness(fixture)
        cache[spec] = witness
        return witness
    }

    private init(_ fixture: Fixture) throws {
        self.fixture = fixture
        video = try VideoReadback.read(fixture.url)
        let indices = video.indices
        guard indices == Array(0..<indices.count).map(Optional.some) else {
            throw SubprocessError(description: "\(fixture): frames do not read back as 0..<\(indices.count) in order")
        }
        times = video.relativeTimes
        var durations = zip(times, times.dropFirst()).map { $1 - $0 }
        let fallback = durations.sorted().dropFirst(durations.count / 2).first ?? 1.0 / Double(fixture.spec.fps)
        durations.append(video.frames.last?.duration.flatMap { $0 > 0 ? $0 : nil } ?? fallback)
        self.durations = durations

        packets = try FFprobe.packets(fixture.url, data: true)
        var byTime: [Int64: Int] = [:]
        for (i, frame) in video.frames.enumerated() { byTime[Self.microseconds(frame.time)] = i }
        var packetFrame: [Int] = []
        for (n, packet) in packets.enumerated() {
            guard let pts = packet.ptsSeconds, let index = byTime[Self.microseconds(pts)] else {
                throw SubprocessError(description: "\(fixture): packet \(n) (pts \(packet.pts_time ?? "none")) matches no decoded frame")
            }
            packetFrame.append(index)
        }
        self.packetFrame = packetFrame
        keyframes = zip(packets, packetFrame).filter { $0.0.isKeyframe }.map(\.1).sorted()

        audio = try AudioReadback.read(fixture.url)
        var offsets: [Int: Double] = [:]
        if let audio {
            for onset in audio.onsets {
                let t = onset - video.formatStart
                let second = Int(t.rounded())
                guard abs(t - Double(second)) < 0.1, let first = Self.firstIndex(times, atOrAfter: Double(second)) else { continue }
                offsets[second] = t - times[first]
            }
        }
        avOffsets = offsets
    }

    static func microseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1_000_000).rounded()) }

    // MARK: questions tests ask

    /// Half a microsecond: ffprobe prints times to the microsecond.
    static let epsilon = 0.000_000_5

    private static func firstIndex(_ times: [Double], atOrAfter t: Double) -> Int? {
        times.firstIndex { $0 >= t - epsilon }
    }

    /// First frame shown at or after `t` (seconds from the recording's start).
    func firstIndex(atOrAfter t: Double) -> Int? { Self.firstIndex(times, atOrAfter: t) }

    /// The frames a cut `[from, to)` must hold, in order.
    func indices(from: Double, to: Double) -> [Int] {
        times.indices.filter { times[$0] >= from - Self.epsilon && times[$0] < to - Self.epsilon }
    }

    /// The frames a reel of ranges must hold, ranges concatenated in order.
    func indices(_ ranges: [CutRange]) -> [Int] { ranges.flatMap { indices(from: $0.from, to: $0.to) } }

    /// The keyframe at or before frame `index`.
    func keyframe(atOrBefore index: Int) -> Int? { keyframes.last { $0 <= index } }

    /// The first keyframe after frame `index`.
    func keyframe(after index: Int) -> Int? { keyframes.first { $0 > index } }

    /// GOPs as runs of packet positions (decode order), each starting at a keyframe packet.
    var gops: [Range<Int>] {
        let starts = packets.indices.filter { packets[$0].isKeyframe }
        return zip(starts, starts.dropFirst() + [packets.count]).map { $0..<$1 }
    }

    /// Source packets a smart cut of `ranges` must copy untouched, as runs that must appear
    /// contiguously (in this order) in the output: every GOP whose frames all lie inside a range.
    /// In the first such GOP of each range, packets shown before its keyframe (open-GOP leading
    /// pictures, which refer to frames before the range) are left out: a cutter re-encodes them.
    func packetsToCopy(_ ranges: [CutRange]) -> [[Int]] {
        var runs: [[Int]] = []
        for range in ranges {
            var first = true
            for gop in gops {
                let frames = gop.map { packetFrame[$0] }
                guard frames.allSatisfy({ times[$0] >= range.from - Self.epsilon && times[$0] < range.to - Self.epsilon })
                else { continue }
                var run = Array(gop)
                if first {
                    let key = packetFrame[gop.lowerBound]
                    run = run.filter { times[packetFrame[$0]] >= times[key] - Self.epsilon }
                    first = false
                }
                runs.append(run)
            }
        }
        return runs
    }
}

/// A range of the recording, in seconds from its start: `[from, to)`.
struct CutRange: Sendable, CustomStringConvertible {
    var from: Double
    var to: Double
    var description: String { "[\(from), \(to))" }
}
