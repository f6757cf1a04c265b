import Dispatch
import Foundation
import RepriseMedia

/// Runs the audio cutter on its own serial queue, beside the video work on the reading
/// thread (as FFmpeg's tools run each stage in its own thread). The reading thread hands over
/// packets and tracks, from their timestamps alone, when a range's audio has all been read;
/// it waits for the queue only at the end of a range.
///
/// Thread use: `cutter` is touched only on `queue`; the muxer only under `muxLock`, shared
/// with the video writes; the reader-side fields only on the reading thread.
final class AudioLane: @unchecked Sendable {
    private let cutter: AudioCutter
    private let muxer: Muxer
    private let muxLock: NSLock
    private let queue = DispatchQueue(label: "reprise.audio")
    private var failure: Error?  // on `queue`
    /// Packets travelling to the queue and back, reused (no allocation per packet).
    private var pool: [Packet] = []
    private let poolLock = NSLock()
    /// At most this many packets in flight: the reader waits for the audio rather than run ahead
    /// (bounded memory, and video and audio reach the muxer's interleaver close together).
    private let inFlight = DispatchSemaphore(value: 1500)  // ≈ 32 s of AAC at 48 kHz, under 1 MB

    // Reading thread only.
    private(set) var windowStart: Int64 = 0
    private(set) var windowEnd: Int64 = 0
    private var readThrough = Int64.min

    let sourceStream: Int
    let sampleRate: Int
    let preroll: Int64
    let streamStart: Int64
    var sawAudio: Bool { queue.sync { cutter.sawAudio } }

    init(cutter: AudioCutter, muxer: Muxer, muxLock: NSLock) {
        self.cutter = cutter; self.muxer = muxer; self.muxLock = muxLock
        sourceStream = cutter.sourceStream; sampleRate = cutter.sampleRate
        preroll = cutter.preroll; streamStart = cutter.streamStart
    }

    func samplePosition(of pts: Int64) -> Int64 { cutter.samplePosition(of: pts) }

    /// Starts a range: exactly `count` samples from source sample `start`.
    func begin(start: Int64, count: Int64) {
        windowStart = start; windowEnd = start + count; readThrough = Int64.min
        queue.async { self.cutter.begin(start: start, count: count) }
    }

    /// Every packet the window needs has been handed over (one frame of margin for rounding).
    var isComplete: Bool { readThrough >= windowEnd + preroll }

    func feed(_ packet: Packet) throws {
        if packet.pts != NOPTS {
            let end = samplePosition(of: packet.pts + max(packet.duration, 0)) + (packet.duration > 0 ? 0 : 1024)
            readThrough = max(readThrough, end)
        }
        inFlight.wait()
        let handed = poolLock.withLock { pool.popLast() } ?? Packet()
        do { try handed.reference(packet) } catch {
            // Never handed over: back to the pool, and its slot back to the semaphore.
            poolLock.withLock { pool.append(handed) }
            inFlight.signal()
            throw error
        }
        let box = Handover(packet: handed)
        queue.async {
            if self.failure == nil {
                do { try self.cutter.feed(box.packet, write: self.write) } catch { self.failure = error }
            }
            box.packet.unref()
            self.poolLock.withLock { self.pool.append(box.packet) }
            self.inFlight.signal()
        }
    }

    func restartDecoding() { queue.async { self.cutter.restartDecoding() } }

    /// Waits for the queue, pads the range with silence where the source had none.
    func finishRange() throws {
        try queue.sync {
            if let f = failure { throw f }
            try cutter.finishRange(write: write)
        }
    }

    /// Encodes what is left and drains the encoder.
    func finishAll() throws {
        try queue.sync {
            if let f = failure { throw f }
            try cutter.encodeAvailable(final: true, write: write)
        }
    }

    private func write(_ p: Packet) throws {
        p.rescale(from: cutter.encoderTimeBase, to: muxer.timeBase(of: cutter.outputStream))
        p.pointer.pointee.pos = -1
        muxLock.lock(); defer { muxLock.unlock() }
        try muxer.write(p)
    }
}

/// A packet whose ownership moves to the audio queue: the reading thread never touches it again.
private struct Handover: @unchecked Sendable { let packet: Packet }
