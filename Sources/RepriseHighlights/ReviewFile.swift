import Foundation
import RepriseCore

/// What the review console draws for a recording: the per-second lanes the windows were picked
/// from, the scene cuts an edge can snap to, the windows with their reasons, the products and the
/// outputs with their ranges. Written beside the outputs as `BASE.review.json` by the run that
/// picks the reel (the same run that draws the timeline picture).
public struct ReviewFile: Codable, Sendable, Equatable {
    public struct Lane: Codable, Sendable, Equatable {
        public var name: String
        /// One value a second.
        public var values: [Double]
        public init(name: String, values: [Double]) { self.name = name; self.values = values }
    }
    public struct Window: Codable, Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var peak: Double
        public var score: Double
        public var reasons: [String]
        public var product: String?
        /// The stretch of it the reel holds; nil when left out for length.
        public var reel: [Double]?
        public init(start: Double, end: Double, peak: Double, score: Double, reasons: [String], product: String?, reel: [Double]?) {
            self.start = start; self.end = end; self.peak = peak; self.score = score; self.reasons = reasons; self.product = product; self.reel = reel
        }
    }
    public struct Product: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var start: Double
        public var end: Double
        public init(id: String, title: String, start: Double, end: Double) { self.id = id; self.title = title; self.start = start; self.end = end }
    }
    public struct Output: Codable, Sendable, Equatable {
        public var form: String
        public var path: String
        public var title: String
        public var ranges: [[Double]]
        public init(form: String, path: String, title: String, ranges: [[Double]]) { self.form = form; self.path = path; self.title = title; self.ranges = ranges }
    }

    public static let suffix = ".review.json"
    public var version = 1
    public var input: String
    public var duration: Double
    /// Frames a second of the recording (for frame steps).
    public var frameRate: Double?
    public var lanes: [Lane]
    public var sceneCuts: [Double]
    public var windows: [Window]
    public var products: [Product]
    public var outputs: [Output]

    public init(input: String, duration: Double, frameRate: Double?, lanes: [Lane], sceneCuts: [Double], windows: [Window],
                products: [Product], outputs: [Output]) {
        self.input = input; self.duration = duration; self.frameRate = frameRate; self.lanes = lanes; self.sceneCuts = sceneCuts
        self.windows = windows; self.products = products; self.outputs = outputs
    }

    public static func path(forRecording input: String, in folder: String) -> String {
        (folder as NSString).appendingPathComponent(((input as NSString).lastPathComponent as NSString).deletingPathExtension + suffix)
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicPublish.write(try encoder.encode(self), to: path)
    }

    public static func read(_ path: String) -> ReviewFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ReviewFile.self, from: data)
    }
}
