import Foundation
import Hummingbird
import Logging

/// The review console's HTTP server: pages, the JSON API, live events, media and frame previews,
/// `/metrics` and `/openapi.yaml`, behind JSON errors, a body limit and the bearer token.
public enum ConsoleServer {
    /// `token` starts as the settings' token unless given (the daemon keeps it to re-read on SIGHUP).
    public static func router(settings: ConsoleSettings, data: ConsoleData, token: ConsoleToken? = nil) throws -> Router<ConsoleContext> {
        _ = ConsoleMetrics.registry  // the metrics backend, before any route records a metric
        let router = Router(context: ConsoleContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: JSONErrors())
        router.add(middleware: AllowedMethods())
        router.add(middleware: MetricsMiddleware())
        if settings.isLoopback { router.add(middleware: LoopbackHost(port: settings.port)) }
        // The token before the body: a caller without it never makes the server collect a body.
        router.add(middleware: BearerAuth(token: token ?? ConsoleToken(settings.token), readsNeedToken: !settings.isLoopback))
        router.add(middleware: BodyLimit(maxBytes: settings.maxBodyBytes))
        let pages = try Pages()
        Pages.add(to: router, data: data, pages: pages)
        JobsAPI.add(to: router, data: data)
        EditsAPI.add(to: router, data: data)
        EventsRoute.add(to: router, data: data, pages: pages)
        MediaRoute.add(to: router, data: data)
        FrameRoute.add(to: router, data: data, previewer: FramePreviewer(capacity: 4, decoderThreads: 2))
        Assets.add(to: router)
        router.get("metrics") { _, _ -> Response in
            let text = ConsoleMetrics.text(counts: try await data.counts())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
        }
        return router
    }

    /// The server as a service for the daemon's service group. `onRunning` gets the bound port
    /// (the settings' port, or the one the system chose for port 0).
    public static func application(settings: ConsoleSettings, data: ConsoleData, token: ConsoleToken? = nil, logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        try settings.check()
        return Application(router: try router(settings: settings, data: data, token: token),
                           configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "reprise"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? settings.port) },
                           logger: logger)
    }
}
