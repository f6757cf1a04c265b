import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a Server-Sent Events stream as it arrives (URLSession's data delegate), for tests that
/// watch a page update live. `text` is everything received so far.
final class EventStreamReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var received = Data()
    private var session: URLSession!
    private var task: URLSessionDataTask?
    private(set) var status: Int?

    init(url: URL, headers: [String: String] = [:]) {
        super.init()
        session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        var request = URLRequest(url: url)
        request.timeoutInterval = 600
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        task = session.dataTask(with: request)
        task?.resume()
    }

    var text: String { lock.withLock { String(decoding: received, as: UTF8.self) } }

    /// The `data:` payloads of every `event: name` received so far, in order.
    func events(named name: String) -> [String] {
        text.components(separatedBy: "\n\n").compactMap { block -> String? in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.contains(where: { $0 == "event: \(name)" }) else { return nil }
            return lines.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined(separator: "\n")
        }
    }

    func close() {
        task?.cancel()
        session.invalidateAndCancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        lock.withLock { status = (response as? HTTPURLResponse)?.statusCode }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.withLock { received.append(data) }
    }
}

/// A blocking HTTP call for tests: status, headers and body.
enum HTTPCall {
    struct Reply { var status: Int; var headers: [String: String]; var body: Data; var text: String { String(decoding: body, as: UTF8.self) } }

    static func send(_ url: URL, method: String = "GET", headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 30) throws -> Reply {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = timeout
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Reply, Error> = .failure(URLError(.timedOut))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { result = .failure(error) } else {
                let http = response as? HTTPURLResponse
                var fields: [String: String] = [:]
                for (k, v) in http?.allHeaderFields ?? [:] { fields[String(describing: k).lowercased()] = String(describing: v) }
                result = .success(Reply(status: http?.statusCode ?? 0, headers: fields, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + timeout + 5)
        return try result.get()
    }
}
