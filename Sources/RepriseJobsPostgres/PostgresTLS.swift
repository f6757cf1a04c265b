import Foundation
import PostgresNIO
import RepriseJobs

/// The TLS settings for a store URL's `sslmode`, as libpq means them: `prefer` and `require`
/// encrypt without checking the certificate, `verify-ca` checks it against the system's trust
/// roots, `verify-full` the host name too.
struct PostgresTLS {
    var session: PostgresConnection.Configuration.TLS
    var pooled: PostgresClient.Configuration.TLS
    var serverName: String?

    init(_ url: PostgresStoreURL) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.tls {
        case .disable:
            session = .disable; pooled = .disable; serverName = nil
            return
        case .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw JobStoreError("\(url.display): cannot set up TLS: \(error)")
        }
        serverName = url.tls == .verifyFull ? url.host : nil
        if url.tls == .prefer {
            session = .prefer(context); pooled = .prefer(tls)
        } else {
            session = .require(context); pooled = .require(tls)
        }
    }
}
