/// A failure a user can act on: which file, what is wrong. Printed as one line.
public struct CutError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }
        public static let missingInput = Code("missing input")
        public static let unreadableInput = Code("unreadable input")
        public static let notMedia = Code("not a media file")
        public static let noVideo = Code("no video stream")
        public static let truncated = Code("truncated or damaged")
        public static let badRange = Code("bad range")
        public static let badTime = Code("bad time")
        public static let unsupported = Code("unsupported")
        public static let unwritableOutput = Code("unwritable output")
        public static let badSegments = Code("bad segments file")
        public static let failed = Code("failed")
    }
    public var code: Code
    public var path: String
    public var detail: String

    public init(_ code: Code, path: String, detail: String) {
        self.code = code; self.path = path; self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
