// Fuzz target `index-cache`: the packet-index cache reader (PacketIndexer.load in
// Sources/RepriseCut/PacketIndex.swift). The cache is a file beside the input (or under
// ~/.cache/reprise/index) that another process, an older version or a full disk may have left
// damaged; reading it must fail cleanly or give an index, never crash.
//
// `load` is internal, so scripts/fuzz.sh compiles this file together with the sources of RepriseCut
// into one module. The reader is being rewritten (versioned format): only `loadCache` below should
// need to follow it. The input is written to a file and read back through its path, as the cutter does.
//
// With REPRISE_FUZZ_INDEX_USE=1 the loaded index also goes through what its first users do with it
// (presentation order, the timeline map, time base); by default only the reader is fuzzed.
import Foundation
import RepriseMedia

private func loadCache(_ path: String) throws -> PacketIndex {
    try PacketIndexer.load(path)
}

private let exerciseUse = ProcessInfo.processInfo.environment["REPRISE_FUZZ_INDEX_USE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndexCache(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzScratch.write(fuzzBytes(data, size), name: ".sample.mp4.reprise-index")
    guard let index = try? loadCache(path) else { return 0 }
    _ = index.header.version
    _ = index.packets.count
    if exerciseUse {
        _ = index.timeBase
        _ = index.presentationOrder()
        _ = TimelineMap(index: index).videoOffset(position: 0)
    }
    return 0
}
