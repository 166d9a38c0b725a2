import FHIRPosting
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends visit bundles to a FHIR server (`export fhir --post URL`) through
/// `pumpwand-fhir-post`, one run per visit: the bundle goes to its standard
/// input and its outcome (`FHIRPost.Outcome`) comes back on its standard
/// output. Every entry is a PUT with an id derived from the audit log, so
/// sending a visit again, or a retry after a lost reply, updates the same
/// resources and never adds copies: a retry is always safe.
///
/// The HTTP client is a program of its own so that pumpctl does not load
/// FoundationNetworking and libcurl's 29 libraries at the start of every
/// command (about 4.5 ms and 6 MB each time; docs/performance-startup.md).
struct FHIRPoster {
    var base: URL
    /// Further tries after the first, for a failure that may pass.
    var retries: Int
    var firstDelay: Duration

    static let executableName = "pumpwand-fhir-post"

    /// Where the poster is: `PREFIX/libexec/pumpwand/` beside an installed
    /// `PREFIX/bin/pumpctl`, or pumpctl's own folder in a build folder.
    /// Found from pumpctl's own executable, never from PATH, and refused
    /// when anyone but its owner may write to it or its folder, or its
    /// owner is neither root nor this user: patient data is handed to it.
    static func locate() throws(LocateProblem) -> String {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw .ownPathUnknown
        }
        let folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let candidates = [
            folder.deletingLastPathComponent().appendingPathComponent("libexec/pumpwand/\(executableName)").path,
            folder.appendingPathComponent(executableName).path,
        ]
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else { throw .missing(candidates) }
        for path in [found, URL(fileURLWithPath: found).deletingLastPathComponent().path] {
            var info = stat()
            guard stat(path, &info) == 0 else { throw .missing(candidates) }
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 || (info.st_uid != 0 && info.st_uid != geteuid()) {
                throw .unsafe(path)
            }
        }
        return found
    }

    enum LocateProblem: Error, CustomStringConvertible {
        case ownPathUnknown
        case missing([String])
        case unsafe(String)

        var description: String {
            switch self {
            case .ownPathUnknown: return "pumpctl's own path could not be read from /proc/self/exe."
            case let .missing(paths): return "it is in neither \(paths.joined(separator: " nor "))."
            case let .unsafe(path): return "\(path) may be written by others than its owner, or its owner is neither root nor you; it is not trusted with patient data."
            }
        }
    }

    /// Sends one visit's bundle and waits for the poster's outcome. This
    /// blocks the calling thread until the poster has finished (at most
    /// the retries' timeouts and delays): an export sends its visits one
    /// after another and does nothing else meanwhile.
    func send(_ body: Data, visit: String, entries: Int) throws(FHIRPost.Failure) -> FHIRPost.Sent {
        let path: String
        do { path = try Self.locate() } catch { throw .posterUnavailable(visit: visit, detail: error.description) }
        let milliseconds = firstDelay.components.seconds * 1000 + firstDelay.components.attoseconds / 1_000_000_000_000_000
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--url", base.absoluteString, "--visit", visit, "--entries", "\(entries)",
                             "--retries", "\(retries)", "--first-delay-ms", "\(milliseconds)"]
        // The bundle goes through a socket rather than a pipe: a poster that
        // ends before reading it all gives EPIPE to send(MSG_NOSIGNAL), not
        // a SIGPIPE that would end pumpctl between its audit rows.
        var sockets: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            throw .posterUnavailable(visit: visit, detail: "no socket for its input (errno \(errno)).")
        }
        defer { close(sockets[0]) }
        let output = Pipe()
        process.standardInput = FileHandle(fileDescriptor: sockets[1], closeOnDealloc: true)
        process.standardOutput = output
        // Standard error is pumpctl's own: what the poster says reaches the technician.
        do { try process.run() } catch {
            throw .posterUnavailable(visit: visit, detail: "\(error.localizedDescription)")
        }
        try? output.fileHandleForWriting.close()
        let handedOver = Self.write(body, to: sockets[0])
        shutdown(sockets[0], Int32(SHUT_WR))
        let read = FHIRPost.readToEnd(output.fileHandleForReading.fileDescriptor, limit: FHIRPost.outcomeLimit)
        process.waitUntilExit()
        let ended = process.terminationReason == .uncaughtSignal
            ? "ended by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
        guard process.terminationReason == .exit, process.terminationStatus == 0, case .data(let answer) = read,
              let outcome = try? JSONDecoder().decode(FHIRPost.Outcome.self, from: answer) else {
            // The poster sends only after reading the whole bundle: one it
            // did not take in full never reached the server.
            if !handedOver { throw .posterUnavailable(visit: visit, detail: "it ended (\(ended)) before taking the bundle.") }
            let detail: String = switch read {
            case .tooLong: "its answer was longer than \(FHIRPost.outcomeLimit) bytes, \(ended)"
            case .failed(let code): "its answer could not be read (errno \(code)), \(ended)"
            case .data: ended
            }
            throw .posterFailed(visit: visit, detail: detail)
        }
        switch outcome {
        case .sent(let sent) where sent.visit == visit: return sent
        case .sent(let sent): throw .posterFailed(visit: visit, detail: "it answered for visit \(sent.visit)")
        case .failed(let failure): throw failure
        }
    }

    /// Writes all of `data`; false when the reader went away first.
    static func write(_ data: Data, to socket: Int32) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.send(socket, bytes.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
    }
}
