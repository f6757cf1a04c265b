import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway server that stops answering without going away, as one behind a cut link or
/// frozen by its host does: every process of it (the postmaster and the backends it forked) gets
/// SIGSTOP. Its sockets stay open and the kernel still accepts connections; nothing replies.
extension ThrowawayPostgres {
    /// The postmaster's pid (the first line of postmaster.pid).
    var postmasterPID: Int32? {
        let text = try? String(contentsOfFile: "\(folder)/data/postmaster.pid", encoding: .utf8)
        return text?.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The postmaster and its children, postmaster first. A new backend can't be forked while it
    /// is stopped, so the list is whole once the postmaster stops first.
    private func serverProcesses() -> [Int32] {
        guard let postmaster = postmasterPID else { return [] }
        return [postmaster] + LiveProcess.children(of: postmaster).map(\.pid)
    }

    /// SIGSTOP to the whole server; returns the processes stopped (for `resume`).
    func pause() -> [Int32] {
        guard let postmaster = postmasterPID else { return [] }
        kill(postmaster, SIGSTOP)
        let all = serverProcesses()
        for pid in all.dropFirst() { kill(pid, SIGSTOP) }
        return all
    }

    /// SIGCONT to what `pause` stopped.
    func resume(_ processes: [Int32]) {
        for pid in processes.reversed() { kill(pid, SIGCONT) }
    }
}
