import RepriseMedia

/// One stretch of a recording whose timestamps run on without a break and whose parameter
/// sets stay the same. A live recording has one run; an encoder restart, an RTMP reconnect or
/// a concatenated capture starts another. Runs are laid end to end on the *closed-up*
/// timeline: a run's first decodable frame follows the previous run's last frame by one frame
/// duration, so positions count as a player shows them and frames stay in file order.
public struct TimelineRun: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case start
        /// Timestamps went back (reconnect, encoder restart, concatenated capture).
        case backwardJump = "backward-jump"
        /// Timestamps leapt forward by more than `TimelineBuilder.forwardJumpLimit`.
        case forwardJump = "forward-jump"
        /// New parameter sets (SPS/PPS, sequence header) with continuous timestamps.
        case parameterChange = "parameter-change"
    }
    public var kind: Kind
    /// Decode-order index (in the packet index) of the run's first video packet.
    public var firstPacket: Int
    /// Byte position of that packet: later reads find the run of a packet by its position.
    public var position: Int64
    /// Closed-up time = raw time + offset (video time base).
    public var offset: Int64
    /// The raw jump at the run's start (video time base; 0 where there was none).
    public var jump: Int64
    /// Which entry of the index's `parameterSets` is in force in this run.
    public var parameterSets: Int
    /// Frames at the run's start that can't be decoded (it began mid-GOP): not part of the recording.
    public var undecodableFrames: Int
}

/// Where the audio's own runs begin; each takes the offset of the video run it belongs to, so
/// sync after a reset is what the recording had.
public struct AudioRunStart: Codable, Sendable, Equatable {
    public var position: Int64
    /// Closed-up offset in the video time base.
    public var offset: Int64
}

/// A stretch without audio inside the recording (seconds on the closed-up timeline).
public struct AudioGap: Codable, Sendable, Equatable {
    public var start: Double
    public var length: Double
}

/// Packets the container marked damaged, or whose timestamps were unusable (closed-up seconds).
public struct DamagedSpan: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
}

/// Finds runs in raw packets (decode order) and closes the timeline up. Pure: no I/O.
public enum TimelineBuilder {
    /// A forward jump longer than this is a discontinuity, not a stall (the ffmpeg program's
    /// `dts_delta_threshold` default).
    public static let forwardJumpSeconds = 10.0
    /// A jump that comes back within this many packets is a damaged timestamp, not a new run.
    static let glitchWindow = 3

    /// - Parameters:
    ///   - packets: raw timestamps, decode (file) order; rewritten in place to the closed-up timeline.
    ///   - parameterChanges: packet index → parameter-set entry that takes effect there.
    ///   - detectJumps: whether this container can have discontinuities (TS, FLV…).
    public static func build(_ packets: inout [IndexedPacket], timeBase: TimeBase,
                             parameterChanges: [Int: Int] = [:], detectJumps: Bool) -> [TimelineRun] {
        guard !packets.isEmpty else { return [] }
        let limit = max(timeBase.ticks(seconds: forwardJumpSeconds), 1)
        var runs = [TimelineRun(kind: .start, firstPacket: 0, position: packets[0].position, offset: 0, jump: 0,
                                parameterSets: parameterChanges[0] ?? 0, undecodableFrames: 0)]
        var sets = runs[0].parameterSets
        // A presentation time before its decode time, or seconds after it, is a damaged
        // timestamp (a flipped composition offset in FLV): that frame's time is unusable.
        for k in packets.indices where packets[k].isTimed {
            let lead = packets[k].pts - packets[k].dts
            if lead < 0 || lead > limit { packets[k].flags |= IndexedPacket.corrupt }
        }
        var i = 1
        while i < packets.count {
            let last = previousTimed(packets, before: i)
            var kind: TimelineRun.Kind? = nil
            var jump: Int64 = 0
            if detectJumps, let last, packets[i].isTimed {
                let step = packets[i].dts - packets[last].dts
                if step < 0 || step > limit {
                    if let back = returnsWithin(packets, from: i, to: packets[last].dts, limit: limit) {
                        // Damaged timestamps on a few packets: they keep their run, marked unusable.
                        for k in i..<back { packets[k].flags |= IndexedPacket.corrupt }
                        i = back
                        continue
                    }
                    kind = step < 0 ? .backwardJump : .forwardJump
                    jump = step
                }
            }
            if let change = parameterChanges[i], change != sets {
                sets = change
                if kind == nil { kind = .parameterChange }
            }
            if let kind {
                runs.append(TimelineRun(kind: kind, firstPacket: i, position: packets[i].position, offset: 0,
                                        jump: jump, parameterSets: sets, undecodableFrames: 0))
            }
            i += 1
        }
        for r in runs.indices {
            let span = runs[r].firstPacket..<(r + 1 < runs.count ? runs[r + 1].firstPacket : packets.count)
            runs[r].undecodableFrames = markUndecodable(&packets, span: span, restart: runs[r].kind != .parameterChange)
        }
        closeUp(&packets, runs: &runs, timeBase: timeBase)
        return runs
    }

    /// Packets before the run's first decode start, and the leading pictures of that start,
    /// refer to pictures the run doesn't have. (A parameter change at a keyframe keeps its references.)
    static func markUndecodable(_ packets: inout [IndexedPacket], span: Range<Int>, restart: Bool) -> Int {
        guard restart || span.lowerBound == 0 else { return 0 }
        guard let first = span.first(where: { packets[$0].isDecodeStart || packets[$0].isCopyStart }) else {
            for k in span { packets[k].flags |= IndexedPacket.undecodable }
            return span.count
        }
        var count = 0
        for k in span.lowerBound..<first { packets[k].flags |= IndexedPacket.undecodable; count += 1 }
        if !packets[first].isCopyStart {
            var k = first + 1
            while k < span.upperBound && !packets[k].isDecodeStart && !packets[k].isCopyStart {
                if packets[k].isTimed && packets[k].pts < packets[first].pts {
                    packets[k].flags |= IndexedPacket.undecodable; count += 1
                }
                k += 1
            }
        }
        return count
    }

    /// Lays each run after the one before: its first usable frame one frame duration after the
    /// previous run's last. Runs that only changed parameters keep their timestamps.
    static func closeUp(_ packets: inout [IndexedPacket], runs: inout [TimelineRun], timeBase: TimeBase) {
        var previousEnd: Int64? = nil
        for r in runs.indices {
            let span = runs[r].firstPacket..<(r + 1 < runs.count ? runs[r + 1].firstPacket : packets.count)
            let usable = span.filter { packets[$0].isUsable }
            let pool = usable.isEmpty ? span.filter { packets[$0].isTimed } : usable
            if r > 0 {
                if runs[r].kind == .parameterChange {
                    runs[r].offset = runs[r - 1].offset
                } else if let end = previousEnd, let firstRaw = pool.map({ packets[$0].pts }).min() {
                    runs[r].offset = end - firstRaw
                } else {
                    runs[r].offset = runs[r - 1].offset
                }
            }
            let offset = runs[r].offset
            for k in span where packets[k].isTimed {
                packets[k].pts += offset
                packets[k].dts += offset
            }
            let times = usable.map { packets[$0].pts }.sorted()
            if let last = times.last {
                previousEnd = max(previousEnd ?? Int64.min, last + frameDuration(times, packets: packets, span: span, timeBase: timeBase))
            }
        }
    }

    /// The run's typical frame duration: the median step between frames, else a packet's own.
    static func frameDuration(_ sorted: [Int64], packets: [IndexedPacket], span: Range<Int>, timeBase: TimeBase) -> Int64 {
        if sorted.count >= 2 {
            var steps = zip(sorted.dropFirst(), sorted).map { $0 - $1 }.filter { $0 > 0 }
            steps.sort()
            if !steps.isEmpty { return steps[steps.count / 2] }
        }
        if let d = span.lazy.map({ packets[$0].duration }).first(where: { $0 > 0 }) { return d }
        return max(timeBase.ticks(seconds: 1.0 / 30), 1)
    }

    static func previousTimed(_ packets: [IndexedPacket], before i: Int) -> Int? {
        var k = i - 1
        while k >= 0 {
            if packets[k].isTimed && packets[k].flags & IndexedPacket.corrupt == 0 { return k }
            k -= 1
        }
        return nil
    }

    /// The first packet within `glitchWindow` after `i` whose dts continues from `dts`, if any.
    static func returnsWithin(_ packets: [IndexedPacket], from i: Int, to dts: Int64, limit: Int64) -> Int? {
        var k = i + 1
        while k < min(packets.count, i + 1 + glitchWindow) {
            let step = packets[k].dts - dts
            if packets[k].isTimed && step >= 0 && step <= limit { return k }
            k += 1
        }
        return nil
    }
}

/// Maps a packet read from the file onto the closed-up timeline, from the runs the index found.
/// A packet's run is known from its byte position (runs start at positions in file order).
public struct TimelineMap: Sendable {
    let videoStarts: [(position: Int64, offset: Int64)]
    let audioStarts: [(position: Int64, offset: Int64)]
    let videoTimeBase: TimeBase
    /// True when no run moved: reading needs no mapping.
    public let isIdentity: Bool

    public init(index: PacketIndex) {
        videoTimeBase = index.timeBase
        videoStarts = index.header.runs.map { ($0.position, $0.offset) }
        audioStarts = index.header.audioRuns.map { ($0.position, $0.offset) }
        isIdentity = videoStarts.allSatisfy { $0.offset == 0 } && audioStarts.allSatisfy { $0.offset == 0 }
    }

    static func offset(in starts: [(position: Int64, offset: Int64)], position: Int64) -> Int64 {
        guard position >= 0, !starts.isEmpty else { return starts.first?.offset ?? 0 }
        var l = 0, h = starts.count
        while l < h { let m = (l + h) / 2; if starts[m].position <= position { l = m + 1 } else { h = m } }
        return l > 0 ? starts[l - 1].offset : starts[0].offset
    }

    /// Offset (closed − raw) of a video packet at `position`, in the video time base.
    public func videoOffset(position: Int64) -> Int64 { TimelineMap.offset(in: videoStarts, position: position) }

    /// Offset of an audio packet at `position`, in `timeBase`.
    public func audioOffset(position: Int64, timeBase: TimeBase) -> Int64 {
        let o = TimelineMap.offset(in: audioStarts, position: position)
        return o == 0 ? 0 : videoTimeBase.rescale(o, to: timeBase)
    }

    /// Rewrites the packet's timestamps in place onto the closed-up timeline. Packets without a
    /// position of their own (audio frames split out of one PES) take the last one seen.
    public func close(_ packet: Packet, videoStream: Int, audioStream: Int?, audioTimeBase: TimeBase?,
                      lastPosition: inout Int64) {
        guard !isIdentity else { return }
        let position = packet.position >= 0 ? packet.position : lastPosition
        lastPosition = position
        let offset: Int64
        if packet.streamIndex == videoStream {
            offset = videoOffset(position: position)
        } else if packet.streamIndex == audioStream, let tb = audioTimeBase {
            offset = audioOffset(position: position, timeBase: tb)
        } else {
            return
        }
        guard offset != 0 else { return }
        if packet.pts != NOPTS { packet.pts += offset }
        if packet.dts != NOPTS { packet.dts += offset }
    }
}

extension IndexedPacket {
    var isTimed: Bool { pts != NOPTS && dts != NOPTS }
    /// A frame that belongs to the recording: timed, intact, decodable.
    var isUsable: Bool { !isCorruptOrUntimed }
}
