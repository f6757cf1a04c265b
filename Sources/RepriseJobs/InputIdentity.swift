import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What an input file was when it was seen: the job store keys jobs on (path, hash), so the same
/// recording is never processed twice and a replaced one is processed again.
public struct InputIdentity: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// Modification time, seconds since 1970. Kept for display and for cheap "has it changed?"
    /// checks; it is not part of the identity (a `touch` must not re-run a recording).
    public var modified: Double
    /// 32 lowercase hex digits; see `of(path:)`.
    public var hash: String

    public init(path: String, size: Int64, modified: Double, hash: String) {
        self.path = path
        self.size = size
        self.modified = modified
        self.hash = hash
    }

    /// Bytes hashed from each of the start, the middle and the end of a file.
    public static let sampleBytes = 4 << 20

    /// Reads size and mtime, and hashes the content.
    ///
    /// The hash is a *sampled* content hash: two 64-bit FNV-1a hashes (different offset bases,
    /// 128 bits of hex together) over the size, then up to `sampleBytes` from the start, the
    /// middle and the end of the file (the whole file when it is no larger than three samples).
    /// Recordings are many gigabytes and reading all of one to tell whether it was seen before
    /// would cost minutes; this is identity, not security, and a re-recorded or re-muxed file
    /// differs in size or in its head, middle or tail (container headers, index) in practice.
    /// A change confined to bytes between the samples of a large file is not seen.
    /// FNV-1a because SHA-256 would need another package, and collisions here are accidental only.
    public static func of(path: String) throws -> InputIdentity {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw JobStoreError("\(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw JobStoreError("\(path): not a regular file")
        }
        let size = Int64(st.st_size)
        #if canImport(Darwin)
        let modified = Double(st.st_mtimespec.tv_sec) + Double(st.st_mtimespec.tv_nsec) / 1e9
        #else
        let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        #endif

        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw JobStoreError("\(path): cannot open for reading")
        }
        defer { try? handle.close() }

        var hasher = SampledHasher()
        withUnsafeBytes(of: UInt64(size).littleEndian) { hasher.update($0) }
        let sample = Int64(sampleBytes)
        let ranges: [(offset: Int64, count: Int64)]
        if size <= 3 * sample {
            ranges = [(0, size)]
        } else {
            ranges = [(0, sample), (size / 2 - sample / 2, sample), (size - sample, sample)]
        }
        do {
            for range in ranges {
                try handle.seek(toOffset: UInt64(range.offset))
                var left = range.count
                while left > 0 {
                    // 1 MiB reads keep memory flat for the whole-file case.
                    guard let data = try handle.read(upToCount: Int(min(left, 1 << 20))), !data.isEmpty else {
                        throw JobStoreError("\(path): file shrank while it was being hashed")
                    }
                    data.withUnsafeBytes { hasher.update($0) }
                    left -= Int64(data.count)
                }
            }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("\(path): cannot read: \(error)")
        }
        return InputIdentity(path: path, size: size, modified: modified, hash: hasher.hex)
    }
}

/// Two FNV-1a 64 states fed the same bytes; the second starts from a different offset basis, so
/// an accidental collision has to happen in both.
struct SampledHasher {
    private static let prime: UInt64 = 0x0000_0100_0000_01B3
    private var a: UInt64 = 0xCBF2_9CE4_8422_2325  // the standard FNV-1a 64 offset basis
    private var b: UInt64 = 0x6C62_272E_07BB_0142  // the FNV-1a 128 basis' low half, another fixed seed

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var a = self.a, b = self.b
        for byte in bytes {
            a = (a ^ UInt64(byte)) &* Self.prime
            b = (b ^ UInt64(byte)) &* Self.prime
        }
        self.a = a
        self.b = b
    }

    var hex: String {
        func hex16(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex16(a) + hex16(b)
    }
}
