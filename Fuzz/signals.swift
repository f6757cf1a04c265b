// Fuzz target `signals`: the chat / orders / product-timeline readers of highlights
// (Sources/RepriseHighlights/Signals: JSON lines and arrays, CSV, danmaku XML, ISO 8601 times),
// through their public API, SignalReader.chat/orders/products(path:clock:).
//
// scripts/fuzz.sh compiles this file with the Signals sources only (they need nothing but
// Foundation), so the target does not link FFmpeg.
//
// Input: byte 0 chooses the reader (value % 3: chat, orders, products), the file's extension
// ((value / 3) % 5: .jsonl, .json, .csv, .xml, none: the format is then guessed from the first
// character) and whether the recording's start is known (bit 7); the rest is the file.
import Foundation

private let extensions = ["jsonl", "json", "csv", "xml", ""]
private let recordingStart = Date(timeIntervalSince1970: 1_700_000_000)

private func check(_ times: [Double]) {
    for t in times { precondition(t.isFinite && t >= 0, "a signal time that is not a finite, non-negative second: \(t)") }
    precondition(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }, "items not sorted by time")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignals(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (selector, payload) = fuzzSelector(fuzzBytes(data, size))
    let ext = extensions[Int(selector / 3) % extensions.count]
    let clock = SignalClock(recordingStart: selector & 0x80 != 0 ? recordingStart : nil)
    let path = FuzzScratch.write(payload, name: ext.isEmpty ? "REC.signal" : "REC.signal.\(ext)")
    do {
        switch selector % 3 {
        case 0:
            let file = try SignalReader.chat(path: path, clock: clock)
            check(file.items.map(\.time))
        case 1:
            let file = try SignalReader.orders(path: path, clock: clock)
            check(file.items.map(\.time))
            for o in file.items { precondition(o.amount.isFinite && !o.productID.isEmpty) }
        default:
            let file = try SignalReader.products(path: path, clock: clock)
            check(file.items.map(\.start))
            for p in file.items { precondition(p.end > p.start && p.end.isFinite, "product span end not after start") }
        }
    } catch is SignalFileError {
        // A file unusable as a whole: the documented clean failure.
    } catch {
        fatalError("signal reader threw something other than SignalFileError: \(error)")
    }
    return 0
}
