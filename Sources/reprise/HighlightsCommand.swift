import ArgumentParser
import Foundation
import RepriseCut
import RepriseHighlights
import RepriseMedia
import RepriseProfiles
import RepriseTranscode

struct HighlightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "highlights",
        abstract: "Pick a recording's moments from chat, orders and the product timeline, and make the replay forms.",
        discussion: """
        Signal files are given on the command line or found beside the recording by base name \
        (REC.chat.jsonl|csv|xml, REC.danmaku.xml, REC.orders.jsonl|csv, REC.products.json|csv). \
        Without them, loudness and scene changes pick the moments. The plan (windows, scores, \
        reasons, outputs) is printed as JSON with --json or --plan-only.

        Times in signal files may be seconds or HH:MM:SS(.mmm) from the recording's start, ISO 8601, \
        YYYY-MM-DD HH:MM:SS(.mmm) without a zone (read in --timezone), or Unix epoch seconds or \
        milliseconds (told apart by magnitude). The plan says how each file's times were read.
        """)

    @Argument(help: "The recording.") var input: String
    @Option(name: .shortAndLong, help: "Output folder (made if missing).") var output: String
    @Option(help: "Chat/danmaku file (JSON lines, CSV, or danmaku XML).") var chat: String?
    @Option(help: "Orders / add-to-cart file (JSON lines or CSV).") var orders: String?
    @Option(help: "Product timeline (JSON or CSV).") var products: String?
    @Option(help: "Recipe name (Profiles/recipe-NAME.yaml) or file.") var recipe: String = "default"
    @Option(name: .customLong("recording-start"),
            help: "When the recording started, for wall-clock times in signal files: ISO 8601, YYYY-MM-DD HH:MM:SS (read in --timezone), or Unix epoch seconds or milliseconds (default: the recording's creation time).")
    var recordingStart: String?
    @Option(name: .customLong("timezone"),
            help: "Zone of times written without one: an IANA name (Asia/Shanghai) or an offset (+08:00) (default: the zone of the recording's creation time if it has one, else the machine's).")
    var timeZone: String?
    @Option(name: .customLong("profile-dir"), help: "Another folder of profiles and recipes (read last, so it overrides).")
    var profileDirs: [String] = []
    @Option(help: "Only these forms, comma-separated: reel, teaser, products, shorts, covers (default: the recipe's).")
    var forms: String?
    @Option(help: "Plan overrides (JSON: {\"windows\": [[start, end], …], \"products\": [{\"id\", \"start\", \"end\"}, …], \"outputs\": [{\"file\", \"title\", \"tags\", \"description\"}, …]}), as the review console saves them: the reel is made of these windows, products' spans replace the product file's, outputs' details go over the generated ones.")
    var overrides: String?
    @Flag(name: .customLong("plan-only"), help: "Print the plan; make nothing.") var planOnly = false
    @Flag(help: "Print progress and the plan as JSON lines on stdout.") var json = false

    func run() throws {
        TemporaryFiles.installSignalHandlers()
        let reporter = makeReporter(json: json)
        do {
            let folders = ProfileLibrary.defaultFolders(extra: profileDirs)
            var chosen: Recipe
            if recipe.hasSuffix(".yaml") || recipe.hasSuffix(".yml") {
                chosen = try RecipeLoader.load(path: recipe)
            } else if let r = try RecipeLoader.find(recipe, folders: folders) {
                chosen = r
            } else {
                throw TranscodeError("unknown recipe '\(recipe)' (looked for recipe-\(recipe).yaml in \(folders.joined(separator: ", ")))")
            }
            if let forms {
                let set = Set(forms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                let known: Set<String> = ["reel", "teaser", "products", "shorts", "covers"]
                guard set.isSubset(of: known) else {
                    throw ValidationError("--forms: use \(known.sorted().joined(separator: ", "))")
                }
                chosen.makeReel = set.contains("reel")
                chosen.teaserBeforeReel = chosen.teaserBeforeReel && chosen.makeReel
                if !set.contains("teaser") { chosen.teaserSeconds = 0 }
                chosen.makeProductClips = set.contains("products")
                chosen.makeShorts = set.contains("shorts")
                chosen.makeCovers = set.contains("covers")
            }
            var request = HighlightsRequest(input: input, output: output, recipe: chosen)
            request.chat = chat; request.orders = orders; request.products = products
            request.planOnly = planOnly
            request.profileFolders = folders
            if let overrides {
                guard let data = FileManager.default.contents(atPath: overrides) else {
                    throw CutError(.missingInput, path: overrides, detail: "can't read the plan overrides")
                }
                do { request.overrides = try PlanOverrides.parse(data, source: overrides) } catch let e as PlanOverridesError {
                    throw CutError(.badSegments, path: overrides, detail: e.description)
                }
            }
            if let timeZone {
                guard let zone = SignalTimeZone(timeZone) else {
                    throw CutError(.badTime, path: input,
                                   detail: "--timezone \(timeZone) is not a time zone (give an IANA name like Asia/Shanghai, or an offset like +08:00)")
                }
                request.timeZone = zone
            }
            request.recordingStart = recordingStart
            let plan = try HighlightsEngine(progress: reporter).run(request)
            reporter.finish()
            if json || planOnly {
                try printJSONResult(plan, event: planOnly ? "plan" : "result")
            } else {
                print(String(format: "%@: %d windows, %d outputs, %.2f s (planning %.3f s)", plan.input, plan.windows.count,
                             plan.outputs.count, plan.seconds, plan.planSeconds))
                for o in plan.outputs { print(String(format: "  %@ %@ (%.1f s): %@", o.form, o.path, o.duration, o.title)) }
                print("  timeline \(plan.timeline)")
                for t in plan.times { print("  times: \(t)") }
                for n in plan.notes { print("  note: \(n)") }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            reporter.finish()
            fail(error)
        }
    }
}
