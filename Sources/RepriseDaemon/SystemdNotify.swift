import Foundation
import Glibc

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET ("READY=1", "WATCHDOG=1",
/// "STOPPING=1", "STATUS=…"). Silent when not run by systemd with Type=notify.
public enum SystemdNotify {
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard var path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // "@name" is an abstract socket: a leading NUL byte instead of the '@'.
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count + (abstract ? 1 : 0) < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let offset = abstract ? 1 : 0
            for (i, b) in bytes.enumerated() { raw[i + offset] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 1 : 0))
        let sent = state.utf8CString.withUnsafeBufferPointer { message in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, message.baseAddress, message.count - 1, 0, $0, length)
                }
            }
        }
        return sent >= 0
    }

    /// The watchdog interval systemd asks for ($WATCHDOG_USEC), if any.
    public static var watchdogInterval: Double? {
        guard let usec = ProcessInfo.processInfo.environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0 else { return nil }
        return usec / 1_000_000
    }
}
