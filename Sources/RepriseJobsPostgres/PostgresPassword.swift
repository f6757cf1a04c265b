import Foundation

/// The store's password, found as libpq finds it: `PGPASSWORD`, else the passfile (`PGPASSFILE`,
/// else `~/.pgpass`), whose lines are `host:port:database:user:password` with `*` matching
/// anything and `\:` / `\\` escaping. nil when neither has one (trust or peer authentication).
enum PostgresPassword {
    static func find(for url: PostgresStoreURL, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let path = environment["PGPASSFILE"]
            ?? (environment["HOME"] ?? NSHomeDirectory()).appending("/.pgpass")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return lookup(in: text, url: url)
    }

    /// The password of the first line that matches `url`.
    static func lookup(in passfile: String, url: PostgresStoreURL) -> String? {
        // A socket connection matches its folder or "localhost", as libpq's does.
        let hosts = url.socketFolder.map { [$0, "localhost"] } ?? [url.host ?? ""]
        for line in passfile.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            func matches(_ field: String, _ values: [String]) -> Bool { field == "*" || values.contains(field) }
            if matches(fields[0], hosts), matches(fields[1], [String(url.port)]),
               matches(fields[2], [url.database]), matches(fields[3], [url.user]) {
                return fields[4]
            }
        }
        return nil
    }

    /// A passfile line's fields: split at unescaped ':', escapes removed.
    private static func split(_ line: String) -> [String] {
        var fields: [String] = [], field = "", escaped = false
        for c in line {
            if escaped { field.append(c); escaped = false }
            else if c == "\\" { escaped = true }
            else if c == ":" && fields.count < 4 { fields.append(field); field = "" }
            else { field.append(c) }
        }
        fields.append(field)
        return fields
    }
}
