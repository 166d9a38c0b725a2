import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy
import WandProtocol

/// `pumpctl serve`: one pump session held open for a script, one JSON
/// request per stdin line, one JSON response per stdout line.
///
/// Only reads are offered (interrogate, link-status, loopback, event-log,
/// read-prescription, close). Anything that changes the pump stays in the
/// normal commands, with their review, confirmation, audit and
/// uncertain-delivery handling.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Hold one pump session open and answer JSON requests on stdin, one per line (reads only).",
        discussion: """
            Request:  {"id": 1, "command": "interrogate"}
            Commands: interrogate, link-status, loopback (optional "size" 0-256, "count" 1-1000), event-log (optional "since", ISO 8601), read-prescription, close.
            Response: {"id": 1, "ok": true, "result": {...}} or {"id": 1, "ok": false, "error": {"code": "communication_failure", "exit_status": 74, "message": "...", "pump": "nothing_sent"}} (the error object of every pumpctl --json failure); "id" is echoed as given (null when absent).
            The session ends at "close" or at the end of stdin. While idle the session is kept alive with a clock read every 60 s (the pump forgets a session after 120 s). See hardware/bringup/README.md.
            """)

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions

    /// Longest request line accepted; longer lines are answered with an error.
    static let maximumLineBytes = 65_536

    func run() async throws {
        let requests = StdinLines.stream(maximum: Self.maximumLineBytes)
        let policy = try PumpSession.loadPolicy(session.policyFile).0
        try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            await ServeLoop(programmer: programmer, simulated: global.simulator, policy: policy).run(requests)
        }
    }
}

/// What arrives on the request stream.
enum ServeInput: Sendable {
    case line(String)
    case tooLong
    case idleTick
}

/// Reads stdin on a thread of its own (a blocking read must not hold one
/// of the few threads the async runtime has), with a bounded line length.
enum StdinLines {
    static func stream(maximum: Int) -> AsyncStream<ServeInput> {
        let (stream, continuation) = AsyncStream.makeStream(of: ServeInput.self)
        let thread = Thread {
            var line: [UInt8] = []
            var overflow = false
            var buffer = [UInt8](repeating: 0, count: 4096)
            reading: while true {
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break reading }
                for byte in buffer[0..<count] {
                    if byte == UInt8(ascii: "\n") {
                        continuation.yield(overflow ? .tooLong : .line(String(decoding: line, as: UTF8.self)))
                        line.removeAll(keepingCapacity: true)
                        overflow = false
                    } else if line.count >= maximum {
                        overflow = true
                    } else {
                        line.append(byte)
                    }
                }
            }
            if overflow { continuation.yield(.tooLong) } else if !line.isEmpty { continuation.yield(.line(String(decoding: line, as: UTF8.self))) }
            continuation.finish()
        }
        thread.start()
        // Idle ticks keep the pump session from expiring while the script thinks.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(20))
                if case .terminated = continuation.yield(.idleTick) { return }
            }
        }
        continuation.onTermination = { _ in ticker.cancel() }
        return stream
    }
}

struct ServeLoop {
    let programmer: Programmer
    let simulated: Bool
    /// The drug library's units for the prescription read back.
    var policy: ClinicPolicy? = nil
    static let keepAliveAfter: Swift.Duration = .seconds(60)

    /// An error line carries what every pumpctl JSON error carries (code,
    /// exit status, message, what the pump was left in), so a script tells
    /// a usage slip from a lost link by the code, never by the words.
    struct Failure: Error {
        let failure: CommandFailure
        init(_ failure: CommandFailure) { self.failure = failure }
        /// serve sends no request that changes the pump: its own refusals left nothing sent.
        init(status: ExitStatus, code: String? = nil, message: String) {
            failure = CommandFailure(status: status, message: message, code: code, pump: .nothingSent)
        }
    }

    func run(_ requests: AsyncStream<ServeInput>) async {
        var lastExchange = ContinuousClock.now
        for await input in requests {
            switch input {
            case .idleTick:
                if ContinuousClock.now - lastExchange >= Self.keepAliveAfter {
                    _ = await programmer.connection.send(.readClock(ReadClock()))
                    lastExchange = ContinuousClock.now
                }
            case .tooLong:
                respond(id: nil, .failure(Failure(status: .usage, code: "request_too_long",
                    message: "The request line is longer than \(Serve.maximumLineBytes) bytes; it was ignored.")))
            case .line(let text):
                guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                let (id, command, arguments) = parse(text)
                let result: Result<any Encodable, Failure>
                if let command {
                    result = await perform(command, arguments)
                } else {
                    result = .failure(Failure(status: .usage, code: "malformed_request",
                        message: "Each line must be a JSON object with a \"command\": one of \(Self.commands.joined(separator: ", "))."))
                }
                lastExchange = ContinuousClock.now
                respond(id: id, result)
                if command == "close" { return }
            }
        }
    }

    static let commands = ["interrogate", "link-status", "loopback", "event-log", "read-prescription", "close"]

    func parse(_ text: String) -> (id: Any?, command: String?, arguments: [String: Any]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return (nil, nil, [:])
        }
        return (object["id"], object["command"] as? String, object)
    }

    func perform(_ command: String, _ arguments: [String: Any]) async -> Result<any Encodable, Failure> {
        do throws(ProgrammerError) {
            switch command {
            case "interrogate":
                return .success(try await programmer.interrogateRecordingBolusEnds().status)
            case "link-status":
                do throws(CommandFailure) {
                    let status = try await LinkStatusCommand.read(programmer.connection.channel)
                    return .success(LinkStatusCommand.Report(status, wand: WandIdentity(await programmer.connection.wandInfo), simulated: simulated))
                } catch {
                    return .failure(Failure(error))
                }
            case "loopback":
                let size = arguments["size"] as? Int ?? 32
                let count = arguments["count"] as? Int ?? 1
                guard (0...WandRequest.maximumLoopbackLength).contains(size), (1...1000).contains(count) else {
                    return .failure(Failure(status: .usage, message: "loopback needs \"size\" 0 ... 256 and \"count\" 1 ... 1000."))
                }
                let run = LoopbackRun(count: count, size: size)
                do {
                    let result = try await run.run(on: programmer.connection.channel)
                    return .success(LoopbackReport(result, run: run, wand: WandIdentity(await programmer.connection.wandInfo), simulated: simulated))
                } catch {
                    return .failure(Failure(status: .communicationFailure, code: "communication_failure", message: error.message))
                }
            case "event-log":
                var since: PumpTime?
                if let text = arguments["since"] as? String {
                    guard let parsed = try? CalcInput.time(text, option: "since", dateAlone: .midnightUTC) else {
                        return .failure(Failure(status: .usage, message: "\"since\" must be an ISO 8601 date or time."))
                    }
                    since = parsed
                }
                struct Events: Encodable { var simulated: Bool; var events: [LoggedEvent] }
                return .success(Events(simulated: simulated, events: try await programmer.eventLog(since: since)))
            case "read-prescription":
                return try await readPrescription()
            case "close":
                struct Closed: Encodable { var closed = true }
                return .success(Closed())
            default:
                return .failure(Failure(status: .usage, code: "unknown_command",
                    message: "Unknown command \"\(command)\": use one of \(Self.commands.joined(separator: ", ")). Changes to the pump are made with the normal pumpctl commands."))
            }
        } catch {
            // serve sends only requests that change nothing.
            let failure = PumpSession.failure(error, effect: .nothingSent)
            return .failure(Failure(failure))
        }
    }

    func readPrescription() async throws(ProgrammerError) -> Result<any Encodable, Failure> {
        switch await programmer.connection.send(.readPrescription(ReadPrescriptionRequest())) {
        case .completed(.prescription(let report)):
            // The prescription with typed quantities, like every JSON output,
            // and beside it the same prescription as a prescription file
            // (pumpctl program FILE reads it back), with the pump's hash.
            let prescription = try WirePrescriptionMapping.therapy(report.prescription)
            let massUnit = policy?.policy(for: prescription.drug)?.massUnit ?? prescription.drug.defaultDoseUnit
            let pretty = prescription.encodedFile(massUnit: massUnit)
            // One response per line: the file form is pretty-printed, so compact it.
            let file = (try? JSONSerialization.jsonObject(with: pretty))
                .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) } ?? pretty
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            guard let typed = try? encoder.encode(PrescriptionRecord(prescription, massUnit: massUnit)) else {
                throw .storage("the prescription could not be encoded")
            }
            return .success(PreEncoded(json: "{\"prescription\":\(String(decoding: typed, as: UTF8.self))"
                + ",\"prescription_file\":\(String(decoding: file, as: UTF8.self))"
                + ",\"prescription_hash\":\"\(report.hash.description)\",\"simulated\":\(simulated)}"))
        case .completed(let other):
            throw .deviceFault("the pump answered read prescription with \(other.opcode)")
        case .refused(let opcode, let refusal):
            throw .pumpRefused(opcode, refusal)
        case .notSent(let reason):
            throw .communication("read prescription was not sent (\(reason))")
        case .unacknowledged(let attempts, _, _):
            throw .communication("the pump did not answer read prescription after \(attempts) attempts")
        }
    }

    /// One line: {"error"|"result", "id", "ok"}, keys sorted like every pumpctl JSON.
    func respond(id: Any?, _ result: Result<any Encodable, Failure>) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let idText = id.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
            .map { String(decoding: $0, as: UTF8.self) } ?? "null"
        var line: String
        switch result {
        case .success(let value as PreEncoded):
            line = "{\"id\":\(idText),\"ok\":true,\"result\":\(value.json)}"
        case .success(let value):
            if let data = try? encoder.encode(value) {
                line = "{\"id\":\(idText),\"ok\":true,\"result\":\(String(decoding: data, as: UTF8.self))}"
            } else {
                line = "{\"error\":{\"code\":\"internal_error\",\"exit_status\":70,\"message\":\"the result could not be encoded\",\"pump\":\"nothing_sent\"},\"id\":\(idText),\"ok\":false}"
            }
        case .failure(let failure):
            let data = (try? encoder.encode(failure.failure.jsonError)) ?? Data("{}".utf8)
            line = "{\"error\":\(String(decoding: data, as: UTF8.self)),\"id\":\(idText),\"ok\":false}"
        }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// A result already written as JSON (the prescription file format).
struct PreEncoded: Encodable {
    let json: String
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(json)
    }
}
