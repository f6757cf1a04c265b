import Foundation
import Logging
import PostgresNIO
@testable import RepriseJobsPostgres
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of the tests' own, from Debian's `postgresql` binaries: `initdb` in a
/// temporary folder, `pg_ctl start` on a free port of 127.0.0.1 and a unix socket in that folder,
/// password (scram-sha-256) authentication. As root (CI) the server runs as the unprivileged
/// `postgres` user that Debian's package creates, since PostgreSQL refuses to run as root.
/// `stop()` stops it at once and removes the folder.
///
/// Missing binaries are an error, never a skip: CI must run the PostgreSQL tests.
final class ThrowawayPostgres: @unchecked Sendable {
    let folder: String
    let port: Int
    /// Where clients reach it: 127.0.0.1, or its host's address in a `NetworkLab`.
    let address: String
    /// The network namespace it runs in (`ip netns exec`), nil for this one.
    private let namespace: String?
    /// The superuser initdb makes, and its password.
    let user = "reprise"
    let password: String
    var socketFolder: String { folder }
    private let bin: String
    private let runAs: String?
    private var databases = 0

    static func start() throws -> ThrowawayPostgres {
        let bin = try binaries()
        var last: Error?
        // A free port can be taken by someone else between the look and the start: try another.
        for _ in 0..<3 {
            do { return try ThrowawayPostgres(bin: bin, namespace: nil, address: "127.0.0.1", port: try freePort()) } catch { last = error }
        }
        throw last!
    }

    /// A server on a host of a `NetworkLab` (its own network namespace), listening on the host's
    /// address; the lab's other hosts, and this process through the lab's bridge, reach it there.
    static func start(on host: NetworkLab.Host) throws -> ThrowawayPostgres {
        try ThrowawayPostgres(bin: try binaries(), namespace: host.namespace, address: host.address, port: 5432)
    }

    /// Debian's versioned folder (/usr/lib/postgresql/N/bin), newest first.
    private static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: "\(bin)/initdb"),
               FileManager.default.isExecutableFile(atPath: "\(bin)/pg_ctl") { return bin }
        }
        throw SubprocessError(description:
            "PostgreSQL's initdb and pg_ctl are not in \(root)/*/bin: install Debian's postgresql package (apt-get install postgresql); the PostgreSQL tests cannot run without it")
    }

    private init(bin: String, namespace: String?, address: String, port: Int) throws {
        self.bin = bin
        self.namespace = namespace
        self.address = address
        // Short and under /tmp: a unix socket's path must fit in 107 bytes.
        var template = Array("/tmp/reprise-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SubprocessError(description: "mkdtemp failed: \(errno)") }
        folder = String(cString: made)
        password = UUID().uuidString
        self.port = port
        if getuid() == 0 {
            guard let pw = getpwnam("postgres") else {
                throw SubprocessError(description:
                    "running as root and there is no 'postgres' user to run PostgreSQL as: install Debian's postgresql package")
            }
            runAs = "postgres"
            chown(folder, pw.pointee.pw_uid, pw.pointee.pw_gid)
        } else {
            runAs = nil
        }
        do {
            try write("\(password)\n", to: "\(folder)/pwfile")
            try pgTool("initdb", ["-D", "\(folder)/data", "-U", user, "--pwfile=\(folder)/pwfile", "-A", "scram-sha-256",
                                  "-E", "UTF8", "--no-sync", "--no-instructions"])
            if namespace != nil {
                // Clients come from the lab's subnet, with the same password.
                let hba = "\(folder)/data/pg_hba.conf"
                let rules = ((try? String(contentsOfFile: hba, encoding: .utf8)) ?? "") + "host all all 0.0.0.0/0 scram-sha-256\n"
                try write(rules, to: hba)
            }
            let options = "-p \(port) -k \(folder) -c listen_addresses=\(address) -c fsync=off -c synchronous_commit=off"
                + " -c full_page_writes=off -c max_connections=300"
            // -W: pg_ctl returns at once; readiness is polled below.
            try pgTool("pg_ctl", ["-D", "\(folder)/data", "-l", "\(folder)/server.log", "-o", options, "-W", "start"])
            var lastError = ""
            let ready = pollUntil(timeout: 60) {
                do { try self.execute("SELECT 1", database: "postgres"); return true }
                catch { lastError = "\(error)"; return false }
            }
            guard ready else {
                let log = (try? String(contentsOfFile: "\(folder)/server.log", encoding: .utf8)) ?? ""
                throw SubprocessError(description: "PostgreSQL on port \(port) did not accept connections within 60 s: \(lastError)\n\(log.suffix(2000))")
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Stops the server without a checkpoint (its data is thrown away) and removes the folder.
    func stop() {
        if FileManager.default.fileExists(atPath: "\(folder)/data/postmaster.pid") {
            _ = try? pgTool("pg_ctl", ["-D", "\(folder)/data", "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A new, empty database; its store URL (TCP, no password: tests pass it as PGPASSWORD would).
    func createDatabase() throws -> String {
        databases += 1
        let name = "t\(databases)"
        try execute("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    func url(_ database: String) -> String { "postgres://\(user)@\(address):\(port)/\(database)?sslmode=disable" }
    func socketURL(_ database: String) -> String { "postgres://\(user)@/\(database)?host=\(folder)&port=\(port)" }

    func store(_ database: String) throws -> PostgresJobStore {
        try PostgresJobStore(url: try PostgresStoreURL(url(database)), password: password)
    }

    /// Runs one statement as the superuser; its rows' first column as text.
    @discardableResult
    func execute(_ sql: String, database: String) throws -> [String] {
        let config = PostgresConnection.Configuration(host: address, port: port, username: user, password: password,
                                                      database: database, tls: .disable)
        let logger = Logger(label: "throwaway-postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        return try blocking {
            let connection = try await PostgresConnection.connect(configuration: config, id: 99, logger: logger)
            do {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
                try await connection.close()
                return try rows.map { row in try row.makeRandomAccess()[0].decode(String?.self) ?? "" }
            } catch {
                try? await connection.close()
                throw SubprocessError(description: PostgresErrorText.describe(error))
            }
        }
    }

    // MARK: - Plumbing

    private func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        if runAs != nil, let pw = getpwnam("postgres") { chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) }
    }

    /// Runs a PostgreSQL program (as `postgres` when we are root), in the server's folder so the
    /// unprivileged user can always read its working directory. posix_spawn and waitpid, not
    /// Foundation's `Process`: `pg_ctl start` leaves the server running with the descriptors
    /// `Process` watches for the child's exit, and its wait would never end.
    private func pgTool(_ name: String, _ args: [String]) throws {
        let inNamespace = namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []
        let tool = inNamespace + (runAs != nil ? ["/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/\(name)"] : ["\(bin)/\(name)"]) + args
        let argv = ["/bin/sh", "-c", #"cd "$0" && exec "$@""#, folder] + tool
        let output = "\(folder)/\(name).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw SubprocessError(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw SubprocessError(description: "\(name) \(args.joined(separator: " ")) failed (status \(status)): \(text.suffix(2000))")
        }
    }

    /// A port nobody listens on now: the kernel's pick for port 0.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SubprocessError(description: "socket failed: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw SubprocessError(description: "could not find a free port: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
