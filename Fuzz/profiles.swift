// Fuzz target `profiles`: YAML loading of output profiles, HLS ladders, highlights recipes and the
// daemon configuration (Sources/RepriseProfiles: ProfileLoader, LadderLoader, RecipeLoader,
// DaemonConfigLoader), through their public `load(path:)`. Built against the RepriseProfiles and Yams
// modules (Yams compiled from SwiftPM's checkout by scripts/fuzz.sh).
//
// Input: byte 0 chooses the loader (value % 4: profile, ladder, recipe, daemon config); the rest is
// the YAML file.
import RepriseProfiles

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProfiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (selector, payload) = fuzzSelector(fuzzBytes(data, size))
    do {
        switch selector % 4 {
        case 0:
            let p = try ProfileLoader.load(path: FuzzScratch.write(payload, name: "fuzz-profile.yaml"))
            precondition(p.video.width >= 16 && p.video.height >= 16)
        case 1:
            let l = try LadderLoader.load(path: FuzzScratch.write(payload, name: "ladder-fuzz.yaml"))
            precondition(!l.rungs.isEmpty)
        case 2:
            _ = try RecipeLoader.load(path: FuzzScratch.write(payload, name: "recipe-fuzz.yaml"))
        default:
            let c = try DaemonConfigLoader.load(path: FuzzScratch.write(payload, name: "reprise.yaml"))
            precondition(!c.watches.isEmpty)
        }
    } catch is ProfileError {
        // The documented clean failure: file, line, field, problem.
    } catch {
        fatalError("loader threw something other than ProfileError: \(error)")
    }
    return 0
}
