import Foundation

/// How a long output is split for encoding side by side: ranges of the output's timeline (seconds
/// from its first frame, after the reader closes timestamp gaps) that start on its keyframe grid,
/// so every chunk starts with the IDR the whole encode puts there and the stitch is a copy.
/// Pure arithmetic, tested without media.
public enum ChunkPlan {
    /// One chunk: the output frames presented in [start, end).
    public struct Chunk: Codable, Equatable, Sendable {
        public var index: Int
        public var start: Double
        public var end: Double
        public init(index: Int, start: Double, end: Double) { self.index = index; self.start = start; self.end = end }
    }

    /// A chunk size or chunk range that is not on the keyframe grid.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Times closer than this are the same grid point (decimal seconds don't add up exactly).
    static let tolerance = 1e-6

    /// How many GOPs `seconds` is, when it is a whole number of them.
    public static func gops(_ seconds: Double, gopSeconds: Double) -> Int? {
        guard gopSeconds > 0, seconds.isFinite else { return nil }
        let n = (seconds / gopSeconds).rounded()
        guard abs(n * gopSeconds - seconds) <= tolerance * max(1, seconds), n >= 0, n < Double(Int32.max) else { return nil }
        return Int(n)
    }

    /// The chunks of an output `duration` seconds long: every `chunkSeconds` on the grid, the
    /// last one ending at the end. A remainder shorter than one GOP joins the chunk before it
    /// (a chunk costs a decoder warm-up and a stitch join; a sliver is not worth one).
    /// - Parameter grid: the grid's name in messages (a ladder's chunks lie on its segment_seconds grid).
    public static func chunks(duration: Double, gopSeconds: Double, chunkSeconds: Double, grid: String = "gop_seconds") throws -> [Chunk] {
        guard gopSeconds > 0, gopSeconds.isFinite else { throw Failure("\(grid) \(format(gopSeconds)) is not a positive number of seconds") }
        guard chunkSeconds > 0, let perChunk = gops(chunkSeconds, gopSeconds: gopSeconds), perChunk >= 1 else {
            throw Failure("chunk_seconds \(format(chunkSeconds)) is not a positive multiple of \(grid) \(format(gopSeconds))")
        }
        guard duration > 0, duration.isFinite else { throw Failure("the output's duration \(format(duration)) s leaves nothing to encode") }
        var result: [Chunk] = []
        var first = 0
        while true {
            let start = Double(first) * gopSeconds
            let nextStart = Double(first + perChunk) * gopSeconds
            // The last chunk, unless at least one whole GOP is left after it.
            if nextStart + gopSeconds > duration + tolerance {
                result.append(Chunk(index: result.count, start: start, end: duration))
                return result
            }
            result.append(Chunk(index: result.count, start: start, end: nextStart))
            first += perChunk
        }
    }

    /// A chunk range as `--chunk START,END` gives it, checked against the grid: the start on it,
    /// the end on it or at the output's end (or past it: the last chunk). Returns the range in
    /// GOPs, the end nil for the last chunk.
    public static func window(start: Double, end: Double, gopSeconds: Double, duration: Double,
                              grid: String = "gop_seconds") throws -> (from: Int, to: Int?) {
        let name = grid == "gop_seconds" ? "keyframe" : grid
        guard start >= 0, end > start else { throw Failure("chunk \(format(start)),\(format(end)): the start must be before the end") }
        guard let from = gops(start, gopSeconds: gopSeconds) else {
            throw Failure("chunk start \(format(start)) s is not on the \(format(gopSeconds)) s \(name) grid")
        }
        guard start < duration - tolerance else {
            throw Failure("chunk start \(format(start)) s is at or past the output's end (\(format(duration)) s)")
        }
        if end >= duration - tolerance { return (from, nil) }
        guard let to = gops(end, gopSeconds: gopSeconds) else {
            throw Failure("chunk end \(format(end)) s is neither on the \(format(gopSeconds)) s \(name) grid nor the output's end (\(format(duration)) s)")
        }
        return (from, to)
    }

    static func format(_ x: Double) -> String { String(format: "%g", x) }
}
