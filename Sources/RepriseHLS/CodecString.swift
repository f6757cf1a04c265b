import RepriseMedia

/// RFC 6381 codec strings for HLS `CODECS`, read from the encoded parameter sets themselves
/// (so the master playlist says what the segments really hold).
public enum CodecString {
    /// `avc1.PPCCLL`: profile_idc, constraint flags and level_idc from the SPS.
    public static func avc(sps: [UInt8]) -> String? {
        guard sps.count >= 4 else { return nil }
        return "avc1." + [sps[1], sps[2], sps[3]].map { hex2($0) }.joined()
    }

    /// `hvc1.P.C.TL.B…` from the SPS's profile_tier_level (ISO/IEC 14496-15 annex E).
    public static func hevc(sps: [UInt8]) -> String? {
        guard sps.count > 15 else { return nil }
        let fields: (Int, Int, Int, Int, [Int], Int)? = sps.withUnsafeBufferPointer { buf in
            var r = RBSPReader(buf, start: 2, end: buf.count)  // after the two-byte NAL header
            // sps_video_parameter_set_id, max_sub_layers_minus1, temporal_id_nesting
            guard r.skip(4 + 3 + 1), let space = r.readBits(2), let tier = r.readBits(1), let profile = r.readBits(5),
                  let compat = r.readBits(32) else { return nil }
            var constraints: [Int] = []
            for _ in 0..<6 { guard let b = r.readBits(8) else { return nil }; constraints.append(b) }
            guard let level = r.readBits(8) else { return nil }
            return (space, tier, profile, compat, constraints, level)
        }
        guard let (space, tier, profile, compat, read, level) = fields else { return nil }
        var constraints = read
        // Compatibility flags are written bit-reversed, in hex without leading zeros.
        var reversed: UInt32 = 0
        for i in 0..<32 where (compat >> i) & 1 == 1 { reversed |= 1 << (31 - i) }
        while constraints.last == 0 { constraints.removeLast() }
        let spaceLetter = ["", "A", "B", "C"][space]
        var s = "hvc1.\(spaceLetter)\(profile).\(String(reversed, radix: 16, uppercase: true)).\(tier == 1 ? "H" : "L")\(level)"
        for c in constraints { s += "." + String(c, radix: 16, uppercase: true) }
        return s
    }

    /// The video codec string from an encoder's extradata, or (no extradata: parameter sets
    /// in-band, as for MPEG-TS) from its first keyframe.
    public static func video(isHEVC: Bool, extradata: [UInt8], firstPacket: [UInt8]) -> String? {
        var sets = ParameterSets(extradata: extradata, isHEVC: isHEVC)
        if sets.sps.isEmpty { sets = ParameterSets(annexBPacket: firstPacket, isHEVC: isHEVC) }
        guard let sps = sets.sps.first else { return nil }
        return isHEVC ? hevc(sps: sps) : avc(sps: sps)
    }

    /// Audio, RFC 6381 / the HLS authoring spec: AAC as `mp4a.40.` + its audio object type, read
    /// from the encoder's profile (FFmpeg's FF_PROFILE_AAC_* values): LC 2, HE (SBR) 5, HE v2
    /// (SBR + PS) 29; Opus `Opus`, MP3 `mp4a.40.34`, AC-3 `ac-3`, E-AC-3 `ec-3`, FLAC `fLaC`.
    /// nil for a codec HLS can't name (the caller refuses it).
    /// - Parameter aacProfile: the encoder context's profile after opening (FFmpeg's aac encoder
    ///   sets LC when none was asked for); unknown (-99) reads as LC.
    public static func audio(codec: String, aacProfile: Int32 = -99) -> String? {
        switch codec {
        case "aac":
            guard let objectType = aacObjectTypes[aacProfile == -99 ? 1 : aacProfile] else { return nil }
            return "mp4a.40.\(objectType)"
        case "opus": return "Opus"
        case "mp3": return "mp4a.40.34"
        case "ac3": return "ac-3"
        case "eac3": return "ec-3"
        case "flac": return "fLaC"
        default: return nil
        }
    }

    /// FF_PROFILE_AAC_* → MPEG-4 audio object type (ISO/IEC 14496-3 table 1.1).
    static let aacObjectTypes: [Int32: Int] = [0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 28: 29, 22: 23, 38: 39]

    static func hex2(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }
}
