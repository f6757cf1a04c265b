import CFFmpeg
import Foundation
import RepriseMedia

/// One video packet as the index remembers it. Times are in the video stream's time base.
public struct IndexedPacket: Equatable, Sendable {
    public var pts: Int64
    public var dts: Int64
    public var duration: Int64
    public var position: Int64
    public var size: Int32
    public var flags: UInt8

    public static let containerKey: UInt8 = 1       // the container marks it a sync sample
    public static let decodeStart: UInt8 = 2        // decoding may start here (IDR, any HEVC IRAP)
    public static let copyStart: UInt8 = 4          // a copy may start here: nothing after it refers back
    public static let leading: UInt8 = 8            // an HEVC RASL picture (refers before its IRAP)
    public static let corrupt: UInt8 = 16
    /// Refers to pictures the recording doesn't have (a capture that began mid-GOP): not part of it.
    public static let undecodable: UInt8 = 32
    /// The container marked it damaged: decoded with concealment, never copied.
    public static let damaged: UInt8 = 64

    public var isDecodeStart: Bool { flags & Self.decodeStart != 0 }
    public var isCopyStart: Bool { flags & Self.copyStart != 0 }
    public var isLeading: Bool { flags & Self.leading != 0 }
}

/// Every video packet of an input in decode order, built once and cached beside the input.
/// The cut engine plans from this, never from a container seek alone.
public struct PacketIndex: Sendable {
    public struct Header: Codable, Sendable, Equatable {
        public var version: Int
        public var fileSize: Int64
        public var modificationTime: Double
        public var inode: UInt64
        public var streamIndex: Int
        public var timeBaseNum: Int32
        public var timeBaseDen: Int32
        public var codec: String
        public var formatName: String
        public var startTimeMicros: Int64
        /// Presentation time where the readable data ends early (a damaged tail), if any.
        public var damagedAtPTS: Int64?
        public var damageMessage: String?
        /// Continuous stretches, laid end to end (see `TimelineRun`); the packets' times are closed up.
        public var runs: [TimelineRun] = []
        public var audioRuns: [AudioRunStart] = []
        public var audioStream: Int?
        public var audioGaps: [AudioGap] = []
        /// Distinct parameter sets met (entry 0: the stream's own extradata), as extradata bytes.
        public var parameterSets: [[UInt8]] = []
        /// Spans of packets marked damaged (seconds on the closed-up timeline).
        public var damagedSpans: [DamagedSpan] = []
    }

    /// Bumped whenever the layout or meaning changes: older caches are rebuilt, never misread.
    public static let version = 4
    public var header: Header
    public var packets: [IndexedPacket]

    public var timeBase: TimeBase { TimeBase(header.timeBaseNum, header.timeBaseDen) }


    /// Presentation order: packet indices sorted by pts.
    public func presentationOrder() -> [Int] { PacketIndex.presentationOrder(of: packets) }

    static func presentationOrder(of packets: [IndexedPacket]) -> [Int] {
        packets.indices.filter { !packets[$0].isCorruptOrUntimed }.sorted { packets[$0].pts < packets[$1].pts }
    }
}

extension IndexedPacket {
    var isCorruptOrUntimed: Bool {
        pts == NOPTS || flags & (IndexedPacket.corrupt | IndexedPacket.undecodable) != 0
    }
    public var isUndecodable: Bool { flags & IndexedPacket.undecodable != 0 }
    public var isDamaged: Bool { flags & IndexedPacket.damaged != 0 }
}

// MARK: - Building

public enum PacketIndexer {
    /// Loads the cached index for `path` if it still matches the file, else scans and caches it.
    public static func index(path: String, demuxer: Demuxer, videoStream: Int,
                             progress: ((Double) -> Void)? = nil) throws -> PacketIndex {
        let identity = try FileIdentity(path: path)
        let audioStream = demuxer.bestAudioStream
        for cache in cacheLocations(for: identity) {
            if let cached = try? load(cache), cached.header.fileSize == identity.size,
               cached.header.modificationTime == identity.modificationTime, cached.header.inode == identity.inode,
               cached.header.streamIndex == videoStream, cached.header.version == PacketIndex.version,
               cached.header.audioStream == audioStream {
                return cached
            }
        }
        let index = try scan(demuxer: demuxer, videoStream: videoStream, audioStream: audioStream,
                             identity: identity, progress: progress)
        // Hand the demuxer back at the start, as a cached index leaves it.
        if ["mpegts", "flv"].contains(demuxer.formatName) { try? demuxer.seek(bytePosition: 0) } else { try? demuxer.seekToStart() }
        for cache in cacheLocations(for: identity) {
            if (try? save(index, to: cache)) != nil { break }
        }
        return index
    }

    /// Never beside the recording (a watch folder may be read-only, or watched by other tools):
    /// `$REPRISE_CACHE_DIR` (the daemon points it at its state folder), else `$XDG_CACHE_HOME/reprise`,
    /// else `~/.cache/reprise`, else the temp folder. Keyed by the file's identity (device and
    /// inode), so a recording moved within its file system keeps its index.
    public static func cacheLocations(for identity: FileIdentity) -> [String] {
        let env = ProcessInfo.processInfo.environment
        var bases: [String] = []
        if let dir = env["REPRISE_CACHE_DIR"], !dir.isEmpty { bases.append(dir) }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { bases.append(xdg + "/reprise") }
        if let home = env["HOME"], !home.isEmpty { bases.append(home + "/.cache/reprise") }
        bases.append(NSTemporaryDirectory() + "reprise-\(getuid())")
        let name = "index/\(String(identity.device, radix: 16))-\(String(identity.inode, radix: 16)).reprise-index"
        return bases.map { "\($0)/\(name)" }
    }

    /// The cache file in use for `path` (named in messages).
    public static func cacheLocations(for path: String) -> [String] {
        (try? FileIdentity(path: path)).map { cacheLocations(for: $0) } ?? []
    }

    /// Formats whose timestamps may jump (the demuxer says so; FLV is written by RTMP ingests that restart).
    static func mayJump(_ demuxer: Demuxer) -> Bool {
        demuxer.context.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT != 0 || demuxer.formatName == "flv"
    }

    static func scan(demuxer: Demuxer, videoStream: Int, audioStream: Int?, identity: FileIdentity,
                     progress: ((Double) -> Void)?) throws -> PacketIndex {
        let info = demuxer.streams[videoStream]
        let codecpar = demuxer.stream(videoStream).pointee.codecpar!
        let extradata = codecpar.pointee.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(codecpar.pointee.extradata_size))) } ?? []
        let isH264 = codecpar.pointee.codec_id == AV_CODEC_ID_H264
        let isHEVC = codecpar.pointee.codec_id == AV_CODEC_ID_HEVC
        let framing = NALFraming.detect(extradata: extradata, isHEVC: isHEVC)
        let jumps = mayJump(demuxer)
        // Audio is read only where its timestamps may jump too: its runs must be known.
        let audio = jumps ? audioStream : nil
        let audioBase = audio.map { TimeBase(demuxer.stream($0).pointee.time_base) }
        demuxer.keepOnly(Set([videoStream] + (audio.map { [$0] } ?? [])))
        defer { demuxer.keepOnly(Set(0..<demuxer.streams.count)) }

        var packets: [IndexedPacket] = []
        if info.frameCount > 0 { packets.reserveCapacity(Int(info.frameCount) + 16) }
        var damagedAt: Int64? = nil
        var damageMessage: String? = nil
        // Parameter sets: entry 0 is the stream's; a packet that brings others starts a new entry.
        var parameterSets: [[UInt8]] = [extradata]
        var setKeys: [Set<[UInt8]>] = [Set(ParameterSets(extradata: extradata, isHEVC: isHEVC).all)]
        var parameterChanges: [Int: Int] = [:]
        var currentSets = 0
        func noteSets(_ bytes: [UInt8], at i: Int) {
            let key = Set(ParameterSets(extradata: bytes, isHEVC: isHEVC).all)
            guard !key.isEmpty, key != setKeys[currentSets] else { return }
            if setKeys[0].isEmpty {  // the stream declared none: the first ones met are its own
                setKeys[0] = key; parameterSets[0] = bytes
                return
            }
            if let known = setKeys.firstIndex(of: key) { currentSets = known } else {
                setKeys.append(key); parameterSets.append(bytes); currentSets = setKeys.count - 1
            }
            parameterChanges[i] = currentSets
        }
        var audioJumps: [(position: Int64, raw: Int64)] = []
        var audioGapsRaw: [(position: Int64, start: Int64, length: Int64)] = []
        var audioEnd: Int64? = nil
        let packet = Packet()
        let total = max(demuxer.fileSize, 1)
        var lastReport = 0
        var lastDts = Int64.min
        loop: while true {
            switch demuxer.read(into: packet) {
            case .endOfFile: break loop
            case .damaged(let code):
                damageMessage = ffErrorString(code)
                damagedAt = packets.last.map { $0.pts + max($0.duration, 1) } ?? 0
                break loop
            case .packet:
                if let audio, let audioBase, packet.streamIndex == audio {
                    guard packet.pts != NOPTS else { continue }
                    let limit = audioBase.ticks(seconds: TimelineBuilder.forwardJumpSeconds)
                    let slack = audioBase.ticks(seconds: 0.05)
                    if let end = audioEnd {
                        if packet.pts < end - slack || packet.pts > end + limit {
                            audioJumps.append((packet.position, packet.pts))
                        } else if packet.pts > end + slack {
                            audioGapsRaw.append((packet.position, end, packet.pts - end))
                        }
                    }
                    audioEnd = packet.pts + max(packet.duration, 1)
                    continue
                }
                guard packet.streamIndex == videoStream else { continue }
                var flags: UInt8 = packet.isKey ? IndexedPacket.containerKey : 0
                if packet.isCorrupt { flags |= IndexedPacket.damaged }
                if isH264 || isHEVC {
                    flags |= classify(packet.bytes, framing: framing, isHEVC: isHEVC)
                } else if packet.isKey {
                    flags |= IndexedPacket.decodeStart | IndexedPacket.copyStart
                }
                if let side = packet.newExtradata { noteSets(side, at: packets.count) }
                else if framing == .annexB, flags & IndexedPacket.decodeStart != 0 {
                    // In-band sets of a keyframe, kept as Annex B extradata (not the whole picture).
                    let sets = ParameterSets(annexBPacket: Array(packet.bytes), isHEVC: isHEVC).all
                    if !sets.isEmpty { noteSets(sets.flatMap { [0, 0, 0, 1] + $0 }, at: packets.count) }
                }
                var dts = packet.dts
                if dts == NOPTS { dts = lastDts == Int64.min ? packet.pts : lastDts + 1 }
                lastDts = dts
                packets.append(IndexedPacket(pts: packet.pts == NOPTS ? dts : packet.pts, dts: dts,
                                             duration: packet.duration, position: packet.position,
                                             size: Int32(packet.size), flags: flags))
                if let progress, packet.position > 0 {
                    let pct = Int(packet.position * 100 / total)
                    if pct != lastReport { lastReport = pct; progress(Double(pct) / 100) }
                }
            }
        }
        // A damaged packet at the very end is a damaged tail (the stream died); elsewhere a damaged span.
        if damagedAt == nil, let last = packets.last, last.flags & IndexedPacket.damaged != 0 {
            var k = packets.count - 1
            while k > 0 && packets[k - 1].flags & IndexedPacket.damaged != 0 { k -= 1 }
            for j in k..<packets.count { packets[j].flags |= IndexedPacket.corrupt }  // cut off: not part of it
            damagedAt = packets[k].pts
            damageMessage = "truncated or corrupt packet"
        }
        let runs = TimelineBuilder.build(&packets, timeBase: info.timeBase, parameterChanges: parameterChanges, detectJumps: jumps)
        // On the closed-up timeline, so a look-ahead for leading pictures never crosses a reset.
        if isH264 || isHEVC { markCleanCRAs(&packets, isHEVC: isHEVC) }
        fillDurations(&packets)
        let startMicros = demuxer.startTimeMicros
        let origin = TimeBase.microseconds.rescale(startMicros, to: info.timeBase)
        var header = PacketIndex.Header(
            version: PacketIndex.version, fileSize: identity.size, modificationTime: identity.modificationTime,
            inode: identity.inode, streamIndex: videoStream, timeBaseNum: info.timeBase.num,
            timeBaseDen: info.timeBase.den, codec: info.codecName, formatName: demuxer.formatName,
            startTimeMicros: startMicros, damagedAtPTS: damagedAt, damageMessage: damageMessage)
        header.runs = runs
        header.audioStream = audioStream
        header.parameterSets = parameterSets
        // Each audio jump belongs to the video run nearest it in the file: same offset, same sync.
        header.audioRuns = [AudioRunStart(position: 0, offset: 0)] + audioJumps.map { jump in
            let run = runs.min { abs($0.position - jump.position) < abs($1.position - jump.position) }
            return AudioRunStart(position: jump.position, offset: run?.offset ?? 0)
        }
        if let audioBase {
            let starts = header.audioRuns.map { ($0.position, $0.offset) }
            header.audioGaps = audioGapsRaw.map { gap in
                let closed = audioBase.rescale(gap.start, to: info.timeBase) + TimelineMap.offset(in: starts, position: gap.position)
                return AudioGap(start: info.timeBase.seconds(closed - origin), length: audioBase.seconds(gap.length))
            }
        }
        header.damagedSpans = damagedSpans(packets, timeBase: info.timeBase, origin: origin)
        return PacketIndex(header: header, packets: packets)
    }

    /// Runs of packets that are damaged (or carried unusable timestamps), as closed-up seconds.
    static func damagedSpans(_ packets: [IndexedPacket], timeBase: TimeBase, origin: Int64) -> [DamagedSpan] {
        var spans: [DamagedSpan] = []
        var open: (start: Int64, end: Int64)? = nil
        var lastGood = origin
        for p in packets {
            let bad = p.flags & (IndexedPacket.corrupt | IndexedPacket.damaged) != 0
            if !bad && p.isTimed { lastGood = p.pts }
            if bad {
                // A packet whose own time is unusable is placed after the last good one.
                let t = p.pts == NOPTS || p.flags & IndexedPacket.corrupt != 0 ? (open?.end ?? lastGood) : p.pts
                open = open.map { ($0.start, max($0.end, t + max(p.duration, 1))) } ?? (t, t + max(p.duration, 1))
            } else if let o = open {
                spans.append(DamagedSpan(start: timeBase.seconds(o.start - origin), end: timeBase.seconds(o.end - origin)))
                open = nil
            }
        }
        if let o = open { spans.append(DamagedSpan(start: timeBase.seconds(o.start - origin), end: timeBase.seconds(o.end - origin))) }
        return spans
    }

    /// Flags from the packet's own NAL units; container key flags are not trusted for H.264/HEVC.
    static func classify(_ data: UnsafeBufferPointer<UInt8>, framing: NALFraming, isHEVC: Bool) -> UInt8 {
        let kind = AccessUnitClassifier.classify(data, framing: framing, isHEVC: isHEVC)
        var flags: UInt8 = 0
        if kind.contains(.decodeStart) { flags |= IndexedPacket.decodeStart }
        if kind.contains(.cleanStart) { flags |= IndexedPacket.copyStart }
        if kind.contains(.leading) { flags |= IndexedPacket.leading }
        return flags
    }

    /// Settles the decode starts that are not clean by themselves (an HEVC CRA, an H.264
    /// recovery-point I picture): a copy may start at one only if none of its leading pictures
    /// (after it in decode order, presented before it) follow. HEVC names them (RASL, flagged by
    /// `classify`); for H.264 they are the pictures before the next decode start presented
    /// before the I picture, flagged `leading` here so a first copied GOP drops them.
    static func markCleanCRAs(_ packets: inout [IndexedPacket], isHEVC: Bool = true) {
        var i = 0
        while i < packets.count {
            guard packets[i].isDecodeStart && !packets[i].isCopyStart else { i += 1; continue }
            var j = i + 1, hasLeading = false
            if isHEVC {
                while j < packets.count && !packets[j].isDecodeStart {
                    if packets[j].isLeading { hasLeading = true; break }
                    if packets[j].pts > packets[i].pts { break }  // first trailing picture: no leading ones after it
                    j += 1
                }
            } else {
                // H.264 does not order leading before trailing pictures: look through the whole GOP
                // (each packet is visited once over the scan).
                while j < packets.count && !packets[j].isDecodeStart {
                    if !packets[j].isCorruptOrUntimed && packets[j].pts < packets[i].pts {
                        packets[j].flags |= IndexedPacket.leading
                        hasLeading = true
                    }
                    j += 1
                }
            }
            if !hasLeading { packets[i].flags |= IndexedPacket.copyStart }
            i = isHEVC ? i + 1 : j
        }
    }

    /// Containers that leave durations out (TS, some FLV) get them from the next frame's pts.
    static func fillDurations(_ packets: inout [IndexedPacket]) {
        let order = packets.indices.sorted { packets[$0].pts < packets[$1].pts }
        for k in 0..<order.count {
            let i = order[k]
            if packets[i].duration <= 0 {
                if k + 1 < order.count { packets[i].duration = packets[order[k + 1]].pts - packets[i].pts }
                else if k > 0 { packets[i].duration = packets[order[k - 1]].duration }
            }
        }
    }

    // MARK: Cache file: magic, JSON header, raw packet records.

    static let magic: [UInt8] = Array("RPIX".utf8)

    static func save(_ index: PacketIndex, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var data = Data(magic)
        let header = try JSONEncoder().encode(index.header)
        var len = UInt32(header.count).littleEndian
        data.append(Data(bytes: &len, count: 4))
        data.append(header)
        index.packets.withUnsafeBytes { data.append(contentsOf: $0) }
        try AtomicPublish.write(data, to: path)
    }

    static func load(_ path: String) throws -> PacketIndex {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        guard data.count >= 8, Array(data.prefix(4)) == magic else { throw CocoaError(.fileReadCorruptFile) }
        let len = data.subdata(in: 4..<8).withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        guard data.count >= 8 + len else { throw CocoaError(.fileReadCorruptFile) }
        let header = try JSONDecoder().decode(PacketIndex.Header.self, from: data.subdata(in: 8..<(8 + len)))
        let body = data.subdata(in: (8 + len)..<data.count)
        let stride = MemoryLayout<IndexedPacket>.stride
        guard body.count % stride == 0 else { throw CocoaError(.fileReadCorruptFile) }
        var packets = [IndexedPacket](repeating: IndexedPacket(pts: 0, dts: 0, duration: 0, position: 0, size: 0, flags: 0),
                                      count: body.count / stride)
        packets.withUnsafeMutableBytes { dst in body.withUnsafeBytes { src in dst.copyMemory(from: src) } }
        // A damaged cache (a disk error, a foreign file) must not reach the planner: times and
        // sizes out of any real range, or runs pointing past the packets, make it a miss.
        let limit = Int64(1) << 60
        for p in packets {
            let timed = { (t: Int64) in t == NOPTS || (t > -limit && t < limit) }
            guard timed(p.pts), timed(p.dts), p.duration >= 0, p.duration < limit, p.size >= 0 else {
                throw CocoaError(.fileReadCorruptFile)
            }
        }
        guard header.runs.allSatisfy({ $0.firstPacket >= 0 && $0.firstPacket <= packets.count && abs($0.offset) < limit }),
              header.audioRuns.allSatisfy({ abs($0.offset) < limit }) else { throw CocoaError(.fileReadCorruptFile) }
        return PacketIndex(header: header, packets: packets)
    }
}

/// What identifies a file's contents cheaply: size, modification time and inode.
public struct FileIdentity: Sendable {
    public var size: Int64
    public var modificationTime: Double
    public var inode: UInt64
    public var device: UInt64

    public init(path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw CutError(.unreadableInput, path: path, detail: String(cString: strerror(errno))) }
        size = Int64(st.st_size)
        modificationTime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
    }
}
