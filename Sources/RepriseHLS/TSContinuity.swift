/// MPEG-TS continuity counters carried across files written by separate muxers.
///
/// Every TS packet holds a 4-bit continuity_counter per PID that goes up by one (mod 16) with each
/// packet that carries payload; a demuxer that sees a jump counts a lost packet ("Packet
/// corrupt") and players may drop the frame there. A chunked ladder's parts each come from a
/// fresh mpegts muxer, whose counters start over, so at each join the stitch renumbers the later
/// part: per PID, one offset (mod 16) that makes the part's first payload packet follow the last
/// counter written before it. One offset for the whole part keeps the part's own steps (and its
/// adaptation-only packets, which repeat the counter) exactly as the muxer wrote them.
public struct TSContinuity: Sendable {
    public static let packetSize = 188
    static let syncByte: UInt8 = 0x47
    /// Null packets: their counter means nothing, left as written.
    static let nullPID: UInt16 = 0x1FFF

    /// Why bytes can't be renumbered: not whole 188-byte packets each starting with 0x47.
    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The last counter written so far, per PID (after renumbering).
    public private(set) var last: [UInt16: UInt8] = [:]
    /// The current part's offset per PID, fixed at the PID's first packet in the part.
    private var offsets: [UInt16: UInt8] = [:]

    public init() {}

    /// The next files come from another muxer (the next part): their counters are shifted to
    /// continue from `last`.
    public mutating func startPart() { offsets = [:] }

    /// Renumbers `bytes` (the current part's next file, whole packets) in place so every PID
    /// continues from the files before it; returns whether any byte changed.
    @discardableResult
    public mutating func renumber(_ bytes: inout [UInt8]) throws -> Bool {
        try TSContinuity.check(bytes)
        // PIDs first seen in this part: the offset from the first packet with payload (the one whose
        // counter must be last + 1); if the file holds only adaptation-only packets of a PID, from
        // its first one (which repeats the previous counter, so it must equal last).
        var firstPayload: [UInt16: UInt8] = [:], firstAny: [UInt16: UInt8] = [:]
        var at = 0
        while at < bytes.count {
            let (pid, cc, payload) = TSContinuity.header(bytes, at)
            if pid != TSContinuity.nullPID && offsets[pid] == nil {
                if firstAny[pid] == nil { firstAny[pid] = cc }
                if payload && firstPayload[pid] == nil { firstPayload[pid] = cc }
            }
            at += TSContinuity.packetSize
        }
        for (pid, cc) in firstAny {
            guard let previous = last[pid] else { offsets[pid] = 0; continue }
            if let p = firstPayload[pid] {
                offsets[pid] = (previous &+ 1 &- p) & 0x0F
            } else {
                offsets[pid] = (previous &- cc) & 0x0F
            }
        }
        var changed = false
        at = 0
        while at < bytes.count {
            let (pid, cc, _) = TSContinuity.header(bytes, at)
            if pid != TSContinuity.nullPID {
                let offset = offsets[pid] ?? 0
                let renumbered = (cc &+ offset) & 0x0F
                if offset != 0 {
                    bytes[at + 3] = (bytes[at + 3] & 0xF0) | renumbered
                    changed = true
                }
                last[pid] = renumbered
            }
            at += TSContinuity.packetSize
        }
        return changed
    }

    /// Throws unless `bytes` are whole 188-byte packets, each starting with the sync byte.
    public static func check(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty, bytes.count % packetSize == 0 else {
            throw Malformed(description: "is not MPEG-TS: \(bytes.count) bytes, not a whole number of \(packetSize)-byte packets")
        }
        var at = 0
        while at < bytes.count {
            guard bytes[at] == syncByte else {
                throw Malformed(description: "is not MPEG-TS: the packet at byte \(at) does not start with 0x47")
            }
            at += packetSize
        }
    }

    /// The packet at `at`: its PID, continuity counter and whether it carries payload
    /// (adaptation_field_control 01 or 11; 10 is adaptation only and 00 reserved: the counter
    /// does not advance).
    public static func header(_ bytes: [UInt8], _ at: Int) -> (pid: UInt16, counter: UInt8, payload: Bool) {
        let pid = UInt16(bytes[at + 1] & 0x1F) << 8 | UInt16(bytes[at + 2])
        let control = (bytes[at + 3] >> 4) & 0x03
        return (pid, bytes[at + 3] & 0x0F, control & 0x01 != 0)
    }
}
