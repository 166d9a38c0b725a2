import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sending visit bundles to a FHIR server, as far as both sides of it
/// share: which URLs may be used, what counts as a stored visit, and the
/// outcome `pumpwand-fhir-post` hands back to `pumpctl export fhir --post`.
///
/// The HTTP client itself (FoundationNetworking, and libcurl with the 29
/// libraries it loads) lives only in the `pumpwand-fhir-post` executable,
/// so no other pumpctl command pays for loading it at start-up
/// (docs/performance-startup.md). This module does no networking.
public enum FHIRPost {
    /// Largest bundle handed to the poster (a visit is a few kB; a bundle
    /// this large is not one pumpctl made).
    public static let bundleLimit = 64 * 1024 * 1024
    /// Largest server response read into memory.
    public static let responseLimit = 16 * 1024 * 1024
    /// Largest outcome document the poster writes back (a few hundred bytes in practice).
    public static let outcomeLimit = 1024 * 1024
    /// Bounds of `--retries`.
    public static let retryRange = 0...10
    /// How long each request may take, unless told otherwise.
    public static let defaultTimeoutSeconds = 30

    /// The longest a poster may take for one visit: every try at its
    /// timeout, every delay between tries (doubling from `firstDelay`, at
    /// most 30 s), and a margin for starting. pumpctl stops a poster still
    /// running after it.
    public static func deadline(retries: Int, firstDelay: Duration, timeoutSeconds: Int = defaultTimeoutSeconds) -> Duration {
        var total = Duration.seconds(10)
        var delay = firstDelay
        for _ in 0...max(0, min(retries, retryRange.upperBound)) { total += .seconds(timeoutSeconds) }
        for _ in 0..<max(0, min(retries, retryRange.upperBound)) {
            total += delay
            delay = min(delay * 2, .seconds(30))
        }
        return total
    }

    /// Whether a poster's "sent" is a stored visit by pumpctl's own
    /// reckoning: a 2xx status, one answer per entry sent, each 2xx. The
    /// poster checks the same; pumpctl does not take its word for it.
    public static func confirms(_ sent: Sent, visit: String, entries: Int) -> Bool {
        sent.visit == visit && (200..<300).contains(sent.status) && sent.attempts >= 1
            && sent.entries.count == entries && sent.entries.allSatisfy(storedStatus)
    }

    /// An entry's `response.status` that says it was stored: a three-digit
    /// 2xx HTTP code, alone or followed by a space and its text ("201
    /// Created"), as FHIR spells it; "2", "2xx" or "2 but 500" are not.
    public static func storedStatus(_ status: String) -> Bool {
        let bytes = Array(status.utf8)
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "2"),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[1]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[2]) else { return false }
        return bytes.count == 3 || bytes[3] == UInt8(ascii: " ")
    }

    /// A visit the server confirmed it stored, entry by entry.
    public struct Sent: Codable, Sendable, Equatable {
        public var visit: String
        public var status: Int
        public var attempts: Int
        /// Each entry's status as the server answered (`201 Created`).
        public var entries: [String]

        public init(visit: String, status: Int, attempts: Int, entries: [String]) {
            self.visit = visit
            self.status = status
            self.attempts = attempts
            self.entries = entries
        }
    }

    /// Why a visit is not known to be stored.
    public enum Failure: Error, Codable, Sendable, Equatable, CustomStringConvertible {
        case refused(visit: String, status: Int, body: String)
        case unreachable(visit: String, attempts: Int, detail: String)
        case entryFailed(visit: String, entry: String)
        case malformedResponse(visit: String, detail: String)
        case redirected(visit: String, status: Int, location: String)
        case entryCount(visit: String, sent: Int, answered: Int)
        /// The poster could not be started: the bundle never left this computer.
        case posterUnavailable(visit: String, detail: String)
        /// The poster was handed the bundle and then gave no outcome (it
        /// crashed, was killed, or wrote something else): it may have
        /// reached the server.
        case posterFailed(visit: String, detail: String)
        /// pumpctl stopped the poster. `handedOver`: it had taken the
        /// bundle, so the bundle may have reached the server.
        case stopped(visit: String, reason: StopReason, handedOver: Bool)

        /// The visit the failure is about.
        public var visit: String {
            switch self {
            case let .refused(visit, _, _), let .unreachable(visit, _, _), let .entryFailed(visit, _),
                 let .malformedResponse(visit, _), let .redirected(visit, _, _), let .entryCount(visit, _, _),
                 let .posterUnavailable(visit, _), let .posterFailed(visit, _), let .stopped(visit, _, _):
                return visit
            }
        }

        /// Whether the bundle may have reached the server without its answer
        /// confirming it was stored: it may be stored, in part or whole, so
        /// it is never called "not sent".
        public var sentUnconfirmed: Bool {
            switch self {
            case .entryFailed, .malformedResponse, .entryCount, .posterFailed: return true
            case .refused, .unreachable, .redirected, .posterUnavailable: return false
            case .stopped(_, _, let handedOver): return handedOver
            }
        }

        public var description: String {
            switch self {
            case let .refused(visit, status, body):
                return "The FHIR server refused visit \(visit) with HTTP \(status): \(body.prefix(500))"
            case let .unreachable(visit, attempts, detail):
                return "Visit \(visit) was not sent after \(attempts) attempt(s): \(detail)"
            case let .entryFailed(visit, entry):
                return "The FHIR server did not store every resource of visit \(visit): \(entry)"
            case let .redirected(visit, status, location):
                return "The FHIR server answered visit \(visit) with a redirect (HTTP \(status) to \(location.prefix(200))): not followed and not retried, since a redirected request may lose its body or go elsewhere. Give the server's own base URL with --post."
            case let .entryCount(visit, sent, answered):
                return "The FHIR server answered visit \(visit) with \(answered) entries for the \(sent) sent: what it stored is not known. Check the server, and send again."
            case let .malformedResponse(visit, detail):
                return "The FHIR server's answer for visit \(visit) is not a transaction-response Bundle: \(detail)"
            case let .posterUnavailable(visit, detail):
                return "Visit \(visit) was not sent: the FHIR poster (pumpwand-fhir-post) could not be started: \(detail) Reinstall PumpWand: scripts/install.sh puts it in PREFIX/libexec/pumpwand beside PREFIX/bin/pumpctl."
            case let .posterFailed(visit, detail):
                return "Visit \(visit) was handed to the FHIR poster, which gave no outcome (\(detail)): it may or may not have reached the server. Sending again is safe."
            case let .stopped(visit, reason, handedOver):
                return handedOver
                    ? "Visit \(visit): the FHIR poster was stopped (\(reason.rawValue)) after it took the bundle: it may or may not have reached the server. Sending again is safe."
                    : "Visit \(visit) was not sent: the FHIR poster was stopped (\(reason.rawValue)) before it took the bundle."
            }
        }
    }

    /// Why pumpctl stopped a poster.
    public enum StopReason: String, Codable, Sendable, Equatable {
        /// The technician pressed Ctrl-C.
        case interrupted = "Ctrl-C"
        /// It ran past `deadline`.
        case deadline = "no outcome within its deadline"
    }

    /// What the poster writes on standard output: one JSON document.
    public enum Outcome: Codable, Sendable, Equatable {
        case sent(Sent)
        case failed(Failure)
    }

    /// Why a URL is not one to send patient data to.
    public enum URLProblem: Error, Equatable, CustomStringConvertible {
        case notHTTP
        case credentials
        case plainHTTPElsewhere(host: String)

        public var description: String {
            switch self {
            case .notHTTP:
                return "give the FHIR server's base URL, e.g. https://fhir.clinic.example/fhir or http://localhost:8080/fhir"
            case .credentials:
                return "the URL holds credentials (user:password@). Give the URL without them; pumpctl sends no credentials, so use a server that needs none, or a proxy on this computer that adds them from its own credentials file or environment variable."
            case let .plainHTTPElsewhere(host):
                return "plain http only to this computer (localhost, 127.0.0.1, ::1); use https for \(host)."
            }
        }
    }

    /// The server's base URL, if patient data may be sent there: http or
    /// https with a host, no credentials (a password in a URL ends up in
    /// shell history, process lists and logs), and plain http only to
    /// this computer. Both pumpctl and the poster check it.
    public static func checkedBase(_ text: String) throws(URLProblem) -> URL {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
              let host = url.host, !host.isEmpty else { throw .notHTTP }
        guard url.user == nil, url.password == nil,
              !(text.split(separator: "/").dropFirst(2).first?.contains("@") ?? false) else { throw .credentials }
        guard url.scheme?.lowercased() == "https" || loopback(host) else { throw .plainHTTPElsewhere(host: host) }
        return url
    }

    static func loopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
            && bare.split(separator: ".").count == 4 && bare.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    /// What `readToEnd` found on a descriptor.
    public enum Read: Equatable {
        case data(Data)
        /// More than the limit: read to its end and dropped.
        case tooLong
        case failed(errno: Int32)
        /// `stop` said to stop before the end came.
        case stopped
    }

    /// Everything until end of file. Past `limit` bytes the rest is still
    /// read (and dropped), so a writer never waits on a full pipe while its
    /// reader waits for it to exit. `stop` is asked at least every tenth of
    /// a second while nothing comes (pumpctl's Ctrl-C and deadline). Both
    /// ends of the poster use it: the bundle on its standard input, its
    /// outcome on pumpctl's side.
    public static func readToEnd(_ descriptor: Int32, limit: Int, stop: () -> Bool = { false }) -> Read {
        var data = Data()
        var tooLong = false
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if stop() { return .stopped }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN | POLLHUP), revents: 0)
            guard poll(&waiting, 1, 100) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failed(errno: errno)
            }
            if !tooLong { data.append(contentsOf: chunk[0..<count]) }
            if data.count > limit {
                tooLong = true
                data = Data()
            }
        }
        return tooLong ? .tooLong : .data(data)
    }

    /// The HTTP statuses worth another try: the request may pass later.
    public static func retryable(_ status: Int) -> Bool { [408, 429, 500, 502, 503, 504].contains(status) }

    /// The status of each entry of a transaction-response; any entry not
    /// 2xx fails the visit (a transaction is all or nothing, but a server
    /// that says otherwise is believed), and so does an answer with another
    /// number of entries than were sent.
    public static func entryStatuses(_ data: Data, visit: String, sent: Int) throws(Failure) -> [String] {
        guard data.count <= responseLimit else { throw .malformedResponse(visit: visit, detail: "larger than \(responseLimit) bytes") }
        struct Response: Decodable {
            struct Entry: Decodable {
                struct Outcome: Decodable { var status: String }
                var response: Outcome?
            }
            var resourceType: String
            var type: String?
            var entry: [Entry]?
        }
        let decoded: Response
        do { decoded = try JSONDecoder().decode(Response.self, from: data) } catch {
            throw .malformedResponse(visit: visit, detail: "\(error)")
        }
        guard decoded.resourceType == "Bundle", decoded.type == "transaction-response" else {
            throw .malformedResponse(visit: visit, detail: "resourceType \(decoded.resourceType), type \(decoded.type ?? "none")")
        }
        let statuses = (decoded.entry ?? []).map { $0.response?.status ?? "no status" }
        if let failed = statuses.first(where: { !storedStatus($0) }) { throw .entryFailed(visit: visit, entry: failed) }
        // One answer per entry sent, each 2xx: anything else is not a stored visit.
        guard statuses.count == sent else { throw .entryCount(visit: visit, sent: sent, answered: statuses.count) }
        return statuses
    }
}
