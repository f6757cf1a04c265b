import Hummingbird

/// The request context of every console route. Bodies are collected up to the settings' limit by
/// `BodyLimit` before any route sees them.
public struct ConsoleContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
    /// `BodyLimit` has already refused anything larger than the settings allow.
    public var maxUploadSize: Int { 64 << 20 }
}
