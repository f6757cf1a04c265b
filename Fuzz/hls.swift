// Fuzz target `hls`: HLS reading (Sources/RepriseHLS): MediaPlaylist.parse and its render/parse round
// trip, AttributeList.parse, SegmentKeyframe.openingLength (fMP4 and MPEG-TS segments) and
// CodecString from parameter sets. Built against the RepriseHLS and RepriseMedia modules.
//
// Input: byte 0 chooses the parser (value % 4: playlist text, fMP4 segment, TS segment, codec string
// from extradata, bit 7 meaning HEVC); the rest is the text or bytes.
import RepriseHLS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHLS(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (selector, payload) = fuzzSelector(fuzzBytes(data, size))
    switch selector % 4 {
    case 0:
        let text = String(decoding: payload, as: UTF8.self)
        _ = AttributeList.parse(text)
        if let playlist = MediaPlaylist.parse(text) {
            _ = playlist.totalDuration
            let rendered = playlist.render()
            precondition(MediaPlaylist.parse(rendered) != nil, "a parsed playlist renders to text that does not parse")
        }
    case 1, 2:
        let format = selector % 4 == 1 ? "fmp4" : "ts"
        if let length = SegmentKeyframe.openingLength(of: payload, format: format) {
            _ = length
        }
    default:
        _ = CodecString.video(isHEVC: selector & 0x80 != 0, extradata: payload, firstPacket: payload)
        _ = CodecString.avc(sps: payload)
        _ = CodecString.hevc(sps: payload)
    }
    return 0
}
