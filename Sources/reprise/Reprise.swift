import ArgumentParser
import Foundation
import RepriseCut
import RepriseMedia
import CFFmpeg

@main
struct Reprise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprise",
        abstract: "Cut, transcode and package live-commerce stream recordings.",
        subcommands: [CutCommand.self, TranscodeCommand.self, StitchCommand.self, LadderCommand.self, HighlightsCommand.self, DaemonCommand.self, JobsCommand.self, NodesCommand.self, ProbeCommand.self, ProfilesCommand.self, SampleCommand.self, StoreBenchCommand.self])

    static func main() {
        // Signals a parent left blocked (the daemon starts jobs from threads that inherit a
        // dispatch worker's mask, which blocks them) would keep SIGTERM from ever reaching the
        // handlers that remove partial outputs: a job would outlive its killed daemon.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&stopSignals, s) }
        sigprocmask(SIG_UNBLOCK, &stopSignals, nil)
        // A job the daemon started must not outlive it (kill -9 included).
        DaemonChildLifeline.bind()
        // FFmpeg's own chatter stays quiet unless asked for; our errors carry its messages.
        av_log_set_level(ProcessInfo.processInfo.environment["REPRISE_FFMPEG_LOG"] == nil ? AV_LOG_FATAL : AV_LOG_INFO)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Prints a failure as the one line users see, then exits non-zero.
func fail(_ error: Error) -> Never {
    let message: String
    switch error {
    case let e as CutError: message = e.description
    case let e as MediaError: message = e.description
    default: message = "\(error)"
    }
    FileHandle.standardError.write(Data("reprise: error: \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8))
    Foundation.exit(error is CutError && (error as! CutError).code == .badRange ? 2 : 1)
}

/// Prints a command's result as the last stdout line: the value's JSON with `"event": EVENT`.
func printJSONResult(_ value: some Encodable, event: String = "result") throws {
    var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as! [String: Any]
    object["event"] = event
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// `--from`/`--to` as a range, nil when neither is given (the whole recording).
func rangeOption(from: String?, to: String?, input: String) throws -> RangeRequest? {
    guard from != nil || to != nil else { return nil }
    func time(_ text: String, _ option: String) throws -> TimeSpec {
        guard let t = TimeSpec(text) else {
            throw CutError(.badTime, path: input, detail: "\(option) \(text) is not a time (seconds, HH:MM:SS.mmm or fN)")
        }
        return t
    }
    let f = try from.map { try time($0, "--from") } ?? .seconds(0)
    guard let to else { throw CutError(.badTime, path: input, detail: "--from needs --to") }
    return RangeRequest(from: f, to: try time(to, "--to"))
}
