import Foundation
import RepriseCut

/// What a part of a chunked ladder holds, written as `chunk.json` in the part's folder: the
/// stitch checks the parts against each other from these (ranges, rungs, codecs) and writes the
/// master playlist from them without reading the recording again.
public struct LadderChunkManifest: Codable, Sendable, Equatable {
    public static let fileName = "chunk.json"

    public struct Rung: Codable, Sendable, Equatable {
        public var name: String
        public var width: Int
        public var height: Int
        public var frameRate: Double
        /// RFC 6381 codec string, from the encoder's parameter sets.
        public var videoCodec: String
        public var frames: Int
    }
    public struct Audio: Codable, Sendable, Equatable {
        public var codec: String
        public var channels: Int
    }
    /// The recording a part was made from, told apart cheaply (no content hash: recordings are
    /// many gigabytes): its path (symlinks resolved; the name is compared), size and modification time. Parts of two
    /// recordings of the same length, or of one recording replaced between chunk runs, differ here.
    public struct Recording: Codable, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var size: Int64
        /// Seconds since 1970.
        public var modified: Double

        static func of(_ input: String) throws -> Recording {
            let identity = try FileIdentity(path: input)
            let absolute = URL(fileURLWithPath: input).standardizedFileURL.path
            let resolved = realpath(absolute, nil).map { p in defer { free(p) }; return String(cString: p) } ?? absolute
            return Recording(path: resolved, size: identity.size, modified: identity.modificationTime)
        }

        /// The same recording: its file name, size and modification time. Not the folder: nodes
        /// with a `path_map` reach one recording under different mount points.
        public func isSameFile(as other: Recording) -> Bool {
            (path as NSString).lastPathComponent == (other.path as NSString).lastPathComponent
                && size == other.size && modified == other.modified
        }

        public var description: String {
            let date = ISO8601DateFormatter.string(from: Date(timeIntervalSince1970: modified), timeZone: TimeZone(identifier: "UTC")!,
                                                   formatOptions: [.withInternetDateTime, .withFractionalSeconds])
            return "\(path), \(size) bytes, modified \(date)"
        }
    }

    public var ladder: String
    public var format: String
    public var segmentSeconds: Double
    public var gopSeconds: Double
    /// The whole output's length, seconds (every part of one ladder says the same).
    public var duration: Double
    /// A video part's range of the output's timeline, seconds (nil: the audio part).
    public var start: Double?
    public var end: Double?
    /// The number of the part's first segment (its playlists continue the whole ladder's).
    public var firstSegment: Int?
    public var rungs: [Rung]
    public var audio: Audio?
    /// The recording the part was made from (nil only in parts made before this was recorded,
    /// which the stitch refuses).
    public var recording: Recording?
    /// `LadderFingerprint` of the ladder definition the part was encoded with.
    public var ladderFingerprint: String?
    /// Video parts: whether the recording has audio the whole ladder would carry, so a stitch
    /// without the audio part is refused rather than making a silent ladder.
    public var hasAudio: Bool?

    func write(into folder: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try e.encode(self).write(to: folder.appendingPathComponent(Self.fileName))
    }

    /// The manifest of the part folder `folder`, or a failure naming the folder.
    static func read(_ folder: String) throws -> LadderChunkManifest {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw CutError(.badPart, path: folder, detail: "is not a ladder part folder (missing)")
        }
        let url = URL(fileURLWithPath: folder).appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw CutError(.badPart, path: folder, detail: "is not a ladder part (no \(fileName))")
        }
        do { return try JSONDecoder().decode(LadderChunkManifest.self, from: data) } catch {
            throw CutError(.badPart, path: folder, detail: "\(fileName) can't be read: \(error)")
        }
    }
}

extension CutError.Code {
    /// A part of a chunked ladder that can't be stitched (missing, a gap, not matching the others).
    static let badPart = CutError.Code("bad part")
}
