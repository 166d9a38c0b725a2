import ArgumentParser
import CProcessGuard
import FHIRPosting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `pumpwand-fhir-post`: POSTs one visit's transaction Bundle, read from
/// standard input, to a FHIR server, and writes the outcome as one JSON
/// document (`FHIRPost.Outcome`) on standard output.
///
/// pumpctl starts it for `export fhir --post`, one run per visit, and does
/// the checks, the audit rows and the report itself. It is a program of
/// its own so that the HTTP client and libcurl's libraries are loaded only
/// when a bundle is sent, never at the start of every pumpctl command.
@main
struct PostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pumpwand-fhir-post",
        abstract: "POST one FHIR transaction Bundle from standard input; print the outcome as JSON.",
        discussion: """
            Started by pumpctl export fhir --post; not meant to be run by hand. Every entry of the bundle has a stable id (pumpctl makes them PUTs by id, and conditional creates for the Patient and Device), so a retry updates and never duplicates. Retried on a lost connection, a timeout or HTTP 408/429/5xx, with a doubling delay; a redirect is refused, not followed. Exit status 0 when an outcome was written (sent or not), 64 for bad arguments or input.
            """)

    @Option(help: ArgumentHelp("The FHIR server's base URL (https, or http to this computer).", valueName: "url"))
    var url: String
    @Option(help: ArgumentHelp("The visit's id, named in the outcome.", valueName: "id"))
    var visit: String
    @Option(help: ArgumentHelp("How many entries the bundle holds (the answer must hold as many).", valueName: "n"))
    var entries: Int
    @Option(help: ArgumentHelp("Further tries after the first (0 to 10).", valueName: "n"))
    var retries = 3
    @Option(name: .customLong("first-delay-ms"), help: ArgumentHelp("Wait before the first retry; each later wait doubles, up to 30 s.", valueName: "ms"))
    var firstDelayMilliseconds = 500
    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds each request may take (1 to 300).", valueName: "s"))
    var timeoutSeconds = 30

    func validate() throws {
        do { _ = try FHIRPost.checkedBase(url) } catch { throw ValidationError("--url: \(error.description)") }
        guard FHIRPost.retryRange.contains(retries) else { throw ValidationError("--retries \(retries): give 0 to 10.") }
        guard (0...60_000).contains(firstDelayMilliseconds) else { throw ValidationError("--first-delay-ms: give 0 to 60000.") }
        guard (1...300).contains(timeoutSeconds) else { throw ValidationError("--timeout: give 1 to 300.") }
        guard (1...100_000).contains(entries) else { throw ValidationError("--entries: give 1 to 100000.") }
        guard (1...200).contains(visit.utf8.count) else { throw ValidationError("--visit: give the visit's id.") }
    }

    func run() async throws {
        // Dies with pumpctl, however pumpctl ends (SIGTERM, SIGKILL): a
        // poster left running would go on sending patient data no one
        // records. pumpctl may already be gone by now: then stop at once.
        guard pumpwand_die_with_parent() == 0 else { throw ExitCode(70) }
        let body = try Self.readBundle()
        let base = try FHIRPost.checkedBase(url)
        let sender = Sender(base: base, retries: retries, firstDelay: .milliseconds(firstDelayMilliseconds),
                            timeout: TimeInterval(timeoutSeconds), visit: visit)
        let outcome: FHIRPost.Outcome
        do { outcome = .sent(try await sender.send(body, visit: visit, entries: entries)) } catch {
            outcome = .failed(error)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(outcome) + Data("\n".utf8))
    }

    /// The whole of standard input, at most `FHIRPost.bundleLimit` bytes.
    static func readBundle() throws -> Data {
        switch FHIRPost.readToEnd(STDIN_FILENO, limit: FHIRPost.bundleLimit) {
        case .data(let data) where data.isEmpty: throw ValidationError("no bundle on standard input.")
        case .data(let data): return data
        case .tooLong: throw ValidationError("the bundle on standard input is larger than \(FHIRPost.bundleLimit) bytes.")
        case .failed(let code): throw ValidationError("standard input could not be read (errno \(code)).")
        case .stopped: throw ValidationError("standard input was not read to its end.")
        }
    }
}

/// The HTTP exchange: one POST per try, the retries, and what the answer means.
struct Sender {
    var base: URL
    /// Further tries after the first, for a failure that may pass (no
    /// connection, a timeout, 408, 429, 500, 502, 503, 504).
    var retries: Int
    var firstDelay: Duration
    var timeout: TimeInterval
    /// Named in the progress lines.
    var visit: String

    /// One line on standard error (pumpctl's own) before each retry: a
    /// server that is slow to answer must not look like a hung pumpctl.
    func progress(_ attempt: Int, _ problem: String, next delay: Duration) {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let line = "pumpwand-fhir-post: visit \(visit): try \(attempt) of \(retries + 1) failed (\(problem.prefix(200))); "
            + "trying again in \(seconds < 10 ? String(format: "%.1f", seconds) : "\(Int(seconds))") s\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Refuses every redirect: the 3xx answer comes back as the response.
    final class RefuseRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    func send(_ body: Data, visit: String, entries: Int) async throws(FHIRPost.Failure) -> FHIRPost.Sent {
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
                guard let http = response as? HTTPURLResponse else { throw FHIRPost.Failure.malformedResponse(visit: visit, detail: "not HTTP") }
                if (200..<300).contains(http.statusCode) {
                    let statuses = try FHIRPost.entryStatuses(data, visit: visit, sent: entries)
                    return FHIRPost.Sent(visit: visit, status: http.statusCode, attempts: attempt, entries: statuses)
                }
                if (300..<400).contains(http.statusCode) {
                    throw FHIRPost.Failure.redirected(visit: visit, status: http.statusCode,
                                                      location: http.value(forHTTPHeaderField: "Location") ?? "no location")
                }
                guard FHIRPost.retryable(http.statusCode) else {
                    throw FHIRPost.Failure.refused(visit: visit, status: http.statusCode, body: String(decoding: data.prefix(4096), as: UTF8.self))
                }
                lastProblem = "HTTP \(http.statusCode)"
            } catch let failure as FHIRPost.Failure {
                throw failure
            } catch {
                lastProblem = "\(error.localizedDescription)"
            }
            guard attempt <= retries else { throw .unreachable(visit: visit, attempts: attempt, detail: lastProblem) }
            progress(attempt, lastProblem, next: delay)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}
