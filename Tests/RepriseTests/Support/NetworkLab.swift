import Foundation
import XCTest

/// Separate "hosts" on one machine for cluster tests: each host is a network namespace with one
/// veth link to a bridge in the root namespace, on 10.213.N.0/24. A host's link can be cut and
/// restored (`ip link set … down/up`) while its processes keep running, as a pulled cable would.
/// The file system is shared, as the cluster's shared storage would be.
///
/// Needs root (CI runs as root) and `ip` from iproute2. Everything is removed by `tearDown()`.
final class NetworkLab {
    struct Host {
        let name: String
        let namespace: String
        /// The host side of its link, in the root namespace (what `cut` takes down).
        let link: String
        let address: String
    }

    /// Short, as interface names are at most 15 bytes.
    let tag: String
    let bridge: String
    private(set) var hosts: [Host] = []
    private let subnet: Int

    init() throws {
        guard getuid() == 0 else {
            throw SubprocessError(description: "network namespaces need root (CI runs the tests as root)")
        }
        tag = String(UUID().uuidString.prefix(4)).lowercased()
        bridge = "rpb\(tag)"
        // One subnet per lab so labs of parallel test processes don't collide.
        subnet = Int(getpid() % 200) + 20
        try Self.ip(["link", "add", bridge, "type", "bridge"])
        try Self.ip(["link", "set", bridge, "up"])
        // The test process itself reaches the hosts through the bridge.
        try Self.ip(["addr", "add", "10.213.\(subnet).254/24", "dev", bridge])
    }

    /// A new host named `name`, its link up, reachable from every other host of the lab.
    @discardableResult
    func addHost(_ name: String) throws -> Host {
        let n = hosts.count + 1
        let host = Host(name: name, namespace: "rp\(tag)\(name)", link: "rpv\(tag)\(n)", address: "10.213.\(subnet).\(n)")
        try Self.ip(["netns", "add", host.namespace])
        hosts.append(host)
        try Self.ip(["link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
        try Self.ip(["link", "set", host.link, "master", bridge])
        try Self.ip(["link", "set", host.link, "up"])
        try Self.ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
        try Self.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
        try Self.ip(["-n", host.namespace, "link", "set", "lo", "up"])
        return host
    }

    func host(_ name: String) -> Host? { hosts.first { $0.name == name } }

    /// Pulls the host's cable: its processes run on, but reach nothing and nobody reaches them.
    func cut(_ host: Host) throws { try Self.ip(["link", "set", host.link, "down"]) }
    func restore(_ host: Host) throws { try Self.ip(["link", "set", host.link, "up"]) }

    /// `program arguments` inside the host's namespace (`ip netns exec`), not waited for.
    func start(on host: Host, _ program: String, _ arguments: [String], environment: [String: String] = [:],
               stdout: URL? = nil, stderr: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = try Subprocess.executable("ip")
        p.arguments = ["netns", "exec", host.namespace, program] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardInput = FileHandle.nullDevice
        if let stdout { FileManager.default.createFile(atPath: stdout.path, contents: nil); p.standardOutput = try FileHandle(forWritingTo: stdout) }
        if let stderr { FileManager.default.createFile(atPath: stderr.path, contents: nil); p.standardError = try FileHandle(forWritingTo: stderr) }
        try p.run()
        return p
    }

    /// `program arguments` inside the host's namespace, waited for.
    func run(on host: Host, _ program: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> ProcessOutput {
        try Subprocess.run("ip", ["netns", "exec", host.namespace, program] + arguments, timeout: timeout)
    }

    /// Removes every namespace (killing what still runs in one) and the bridge.
    func tearDown() {
        for host in hosts {
            // Processes left in the namespace would keep it alive.
            if let pids = try? Subprocess.run("ip", ["netns", "pids", host.namespace]).stdoutText {
                for pid in pids.split(whereSeparator: \.isNewline).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? Subprocess.run("ip", ["netns", "delete", host.namespace])
        }
        hosts = []
        _ = try? Subprocess.run("ip", ["link", "delete", bridge])
    }

    private static func ip(_ arguments: [String]) throws {
        let out = try Subprocess.run("ip", arguments, timeout: 30)
        guard out.status == 0 else {
            throw SubprocessError(description: "ip \(arguments.joined(separator: " ")): \(out.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
