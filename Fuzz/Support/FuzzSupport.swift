// Shared by every fuzz target (compiled into each one by scripts/fuzz.sh; not a SwiftPM target).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input as an array (libFuzzer's own buffer is exactly `size` bytes long, so targets that take
/// an UnsafeBufferPointer use it directly and AddressSanitizer sees any read past its end).
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Splits off the first byte: targets use it to choose the parser, format or options.
func fuzzSelector(_ bytes: [UInt8]) -> (selector: UInt8, payload: [UInt8]) {
    guard let first = bytes.first else { return (0, []) }
    return (first, Array(bytes.dropFirst()))
}

/// A per-process scratch folder for parsers whose public API takes a path (in /dev/shm when it
/// exists, so writing the input each run costs no disk I/O). Removed at exit.
enum FuzzScratch {
    static let folder: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(base)/reprise-fuzz-\(getpid())"
        mkdir(path, 0o700)
        atexit { FuzzScratch.cleanUp() }
        return path
    }()

    /// Writes `bytes` to `folder/name` (replacing it) and returns the path.
    static func write(_ bytes: [UInt8], name: String) -> String {
        let path = folder + "/" + name
        guard let f = fopen(path, "wb") else { fatalError("fuzz scratch: cannot write \(path)") }
        if !bytes.isEmpty {
            _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        }
        fclose(f)
        return path
    }

    static func cleanUp() {
        guard let dir = opendir(folder) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { unlink(folder + "/" + name) }
        }
        closedir(dir)
        rmdir(folder)
    }
}
