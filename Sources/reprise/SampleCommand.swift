import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Make a sample recording (frame-index barcode, a beep every second) to try Reprise on.")

    @Argument(help: "Output file (.mp4, .mkv, .ts or .flv).") var output: String
    @Option(help: "Length in seconds.") var seconds: Double = 60
    @Option(help: "Width x height.") var size: String = "1280x720"
    @Option(help: "Frames per second.") var fps: Int = 30
    @Option(help: "Frames between keyframes.") var gop: Int = 60
    @Option(help: "h264 or hevc.") var codec: String = "h264"

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 64, parts[1] >= 64 else { throw ValidationError("--size must look like 1280x720") }
        let reporter = makeReporter(json: false)
        do {
            try SampleRecording(path: output, seconds: seconds, width: parts[0], height: parts[1], fps: fps, gop: gop,
                                codec: codec == "hevc" ? "libx265" : "libx264").write { reporter.update(stage: "encoding", fraction: $0) }
            reporter.finish()
            print("\(output): \(Int(seconds * Double(fps))) frames, \(parts[0])x\(parts[1]) \(fps) fps, \(codec)")
        } catch {
            reporter.finish()
            fail(error)
        }
    }
}
