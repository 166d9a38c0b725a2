import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PumpProgrammer

/// Sends visit bundles to a FHIR server (`export fhir --post URL`): each
/// bundle is POSTed to the server's base URL as a transaction. Every entry
/// is a PUT with an id derived from the audit log, so sending a visit
/// again, or a retry after a lost reply, updates the same resources and
/// never adds copies: a retry is always safe.
struct FHIRPoster {
    var base: URL
    /// Further tries after the first, for a failure that may pass (no
    /// connection, a timeout, 429, 500, 502, 503, 504).
    var retries: Int
    var firstDelay: Duration
    var timeout: TimeInterval = 30
    /// Largest response read into memory.
    static let responseLimit = 16 * 1024 * 1024

    struct Sent: Encodable {
        var visit: String
        var status: Int
        var attempts: Int
        /// Each entry's status as the server answered (`201 Created`).
        var entries: [String]
    }

    enum Failure: Error, CustomStringConvertible {
        case refused(visit: String, status: Int, body: String)
        case unreachable(visit: String, attempts: Int, detail: String)
        case entryFailed(visit: String, entry: String)
        case malformedResponse(visit: String, detail: String)
        case redirected(visit: String, status: Int, location: String)
        case entryCount(visit: String, sent: Int, answered: Int)

        /// The visit the failure is about.
        var visit: String {
            switch self {
            case let .refused(visit, _, _), let .unreachable(visit, _, _), let .entryFailed(visit, _),
                 let .malformedResponse(visit, _), let .redirected(visit, _, _), let .entryCount(visit, _, _):
                return visit
            }
        }

        /// Whether the bundle reached the server and was answered, but the
        /// answer does not confirm it was stored: it may be stored, in part
        /// or whole, so it is never called "not sent".
        var sentUnconfirmed: Bool {
            switch self {
            case .entryFailed, .malformedResponse, .entryCount: return true
            case .refused, .unreachable, .redirected: return false
            }
        }

        var description: String {
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
            }
        }
    }

    static func retryable(_ status: Int) -> Bool { [408, 429, 500, 502, 503, 504].contains(status) }

    /// Refuses every redirect: the 3xx answer comes back as the response.
    final class RefuseRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    func send(_ body: Data, visit: String, entries: Int) async throws(Failure) -> Sent {
        var request = URLRequest(url: base, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/fhir+json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/fhir+json", forHTTPHeaderField: "Accept")
        let session = URLSession(configuration: .ephemeral, delegate: RefuseRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        var delay = firstDelay
        var attempt = 0
        var lastProblem = ""
        while true {
            attempt += 1
            do {
                let (data, response) = try await session.data(for: request)
                guard let http = response as? HTTPURLResponse else { throw Failure.malformedResponse(visit: visit, detail: "not HTTP") }
                let text = String(decoding: data.prefix(4096), as: UTF8.self)
                if (200..<300).contains(http.statusCode) {
                    let statuses = try entryStatuses(data, visit: visit)
                    // One answer per entry sent, each 2xx: anything else is not a stored visit.
                    guard statuses.count == entries else { throw Failure.entryCount(visit: visit, sent: entries, answered: statuses.count) }
                    return Sent(visit: visit, status: http.statusCode, attempts: attempt, entries: statuses)
                }
                if (300..<400).contains(http.statusCode) {
                    throw Failure.redirected(visit: visit, status: http.statusCode, location: http.value(forHTTPHeaderField: "Location") ?? "no location")
                }
                guard Self.retryable(http.statusCode) else { throw Failure.refused(visit: visit, status: http.statusCode, body: text) }
                lastProblem = "HTTP \(http.statusCode)"
            } catch let failure as Failure {
                throw failure
            } catch {
                lastProblem = "\(error.localizedDescription)"
            }
            guard attempt <= retries else { throw .unreachable(visit: visit, attempts: attempt, detail: lastProblem) }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    /// The status of each entry of a transaction-response; any entry not
    /// 2xx fails the visit (a transaction is all or nothing, but a server
    /// that says otherwise is believed).
    func entryStatuses(_ data: Data, visit: String) throws(Failure) -> [String] {
        guard data.count <= Self.responseLimit else { throw .malformedResponse(visit: visit, detail: "larger than \(Self.responseLimit) bytes") }
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
        if let failed = statuses.first(where: { !$0.hasPrefix("2") }) { throw .entryFailed(visit: visit, entry: failed) }
        return statuses
    }
}
