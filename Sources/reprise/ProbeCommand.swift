import ArgumentParser
import Foundation
import RepriseCut

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Describe a recording: container, streams and their colour, keyframe interval, GOP kind, damage.")

    @Argument(help: "The recording.") var file: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let reporter = makeReporter(json: false)
        do {
            let report = try ProbeReport.make(path: file, progress: reporter)
            reporter.finish()
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(report), as: UTF8.self))
            } else {
                print(report.text)
            }
        } catch {
            reporter.finish()
            fail(error)
        }
    }
}
