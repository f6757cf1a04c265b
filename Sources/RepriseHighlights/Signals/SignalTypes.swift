/// One chat message (a comment or a danmaku) at a moment of the recording.
/// Chat density and wording are the audience's reaction, the main highlight signal.
public struct ChatMessage: Sendable, Equatable {
    /// Seconds from the recording's start.
    public var time: Double
    /// Who wrote it ("" when the file does not say): lets scoring count distinct viewers, not just lines.
    public var user: String
    /// The message exactly as written (any UTF-8, unchanged).
    public var text: String

    public init(time: Double, user: String, text: String) {
        self.time = time
        self.user = user
        self.text = text
    }
}

/// One commerce event (an order, a refund, an add-to-cart…) at a moment of the recording.
/// Orders are the signal that a moment sold, not just that it was loud.
public struct OrderEvent: Sendable, Equatable {
    /// Seconds from the recording's start.
    public var time: Double
    /// The product it concerns, matching `ProductSpan.id`.
    public var productID: String
    /// What happened; "order" when the file does not say.
    public var kind: String
    /// Money involved; 0 when the file does not say.
    public var amount: Double

    public init(time: Double, productID: String, kind: String = "order", amount: Double = 0) {
        self.time = time
        self.productID = productID
        self.kind = kind
        self.amount = amount
    }
}

/// When one product was on show: the stream's running order, so highlights can be named
/// and cut per product.
public struct ProductSpan: Sendable, Equatable {
    public var id: String
    public var title: String
    /// Seconds from the recording's start.
    public var start: Double
    /// Seconds from the recording's start; always after `start`.
    public var end: Double

    public init(id: String, title: String, start: Double, end: Double) {
        self.id = id
        self.title = title
        self.start = start
        self.end = end
    }
}

/// A line of a signal file that could not be read. Kept (never dropped) so the user can see,
/// and fix, exactly what was left out.
public struct BadLine: Sendable, Equatable {
    /// 1-based line of the file where the entry starts.
    public var line: Int
    /// Short reason, e.g. "not valid JSON".
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }
}

/// What a signal file held: the items read (sorted by time) and the lines that were not.
public struct SignalFile<Item: Sendable>: Sendable {
    /// The path as given, for messages.
    public var path: String
    public var items: [Item]
    public var badLines: [BadLine]
    /// How its times were read, in words ("times read as local wall-clock (e.g. 2026-12-01
    /// 20:13:45) in Asia/Shanghai (+08:00)"); nil when none was.
    public var times: String?

    public init(path: String, items: [Item], badLines: [BadLine], times: String? = nil) {
        self.path = path
        self.items = items
        self.badLines = badLines
        self.times = times
    }
}

/// A signal file that is unusable as a whole (unreadable, empty, wrong kind of file, nothing in it
/// parses). Its description is one line naming the file, for the CLI's single error line.
public struct SignalFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var detail: String

    public init(path: String, detail: String) {
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
