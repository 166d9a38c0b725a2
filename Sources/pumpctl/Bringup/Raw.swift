import ArgumentParser
import WandLink
import WandProtocol

/// `pumpctl raw`: one frame (or raw bytes) to the wand, and what came back.
///
/// A firmware tool. It cannot change therapy: a pump accepts nothing
/// unsealed but the session handshake, and sealing needs the session keys,
/// which only the pump commands hold.
struct Raw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raw",
        abstract: "Send one frame body (or, with --no-frame, raw bytes) to the wand and print what comes back.",
        discussion: """
            HEX is the frame body: the 5-byte header (version, kind, sequence LE, flags) then the payload, e.g. `pumpctl raw 02 01 01 00 00 01` asks for the wand's info. pumpctl adds COBS, the CRC and the delimiters, sends it once (no retransmission) and prints every frame received until the answer with the same sequence arrives or --timeout passes (exit 74 then).

            --wand-command HEX gives only the wand payload (e.g. 02 for link status); the header is filled in with version 2, kind 0x01, --sequence and flags 0.

            --no-frame writes the bytes exactly as given (no COBS, no CRC, no delimiters; up to 8192 bytes) and prints everything received within --timeout as hex, plus any frames found in it: for testing the wand's decoder. Exit 0 whatever comes back.
            """)

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Argument(help: "The frame body (or, with --no-frame, the bytes) as hex.") var hex: [String] = []
    @Option(name: .customLong("wand-command"), help: ArgumentHelp("Only the wand command payload, as hex.", valueName: "hex"))
    var wandCommand: String?
    @Flag(name: .customLong("no-frame"), help: "Send the bytes as they are: no COBS, CRC or delimiters.") var noFrame = false
    @Option(help: "Milliseconds to wait for the answer (1 ... 60 000).") var timeout = 1500
    @Option(help: "The sequence number for --wand-command (1 ... 65535).") var sequence = 1

    /// The most bytes `--no-frame` writes: enough to send an oversized run
    /// (the decoder's limit is 2061 bytes) several times over.
    static let maximumUnframedBytes = 8192
    /// The most bytes received with `--no-frame` before reading stops.
    static let maximumReceivedBytes = 65_536

    func validate() throws {
        guard (1...60_000).contains(timeout) else { throw ValidationError("--timeout must be 1 ... 60000 ms.") }
        guard (1...Int(UInt16.max)).contains(sequence) else { throw ValidationError("--sequence must be 1 ... 65535.") }
        if wandCommand != nil {
            guard hex.isEmpty else { throw ValidationError("Give either a frame body or --wand-command, not both.") }
            guard !noFrame else { throw ValidationError("--wand-command builds a frame; it cannot be combined with --no-frame.") }
        } else if hex.isEmpty {
            throw ValidationError("Give the frame body as hex (e.g. 02 01 01 00 00 01) or --wand-command HEX.")
        }
    }

    /// The bytes to send, checked before any wand is opened.
    func bytesToSend() throws -> [UInt8] {
        do {
            if let wandCommand {
                let payload = try HexText.parse([wandCommand], maximum: FrameFormat.maximumBodyLength - FrameHeader.length)
                return FrameHeader(kind: .wandCommand, sequence: UInt16(sequence)).encoded + payload
            }
            return try HexText.parse(hex, maximum: noFrame ? Self.maximumUnframedBytes : FrameFormat.maximumBodyLength)
        } catch {
            throw Output.fail(CommandFailure(status: .usage, message: error.description))
        }
    }

    struct Report: Encodable {
        var simulated: Bool
        var sent: String
        var sentFrame: FrameDescription?
        var received: [FrameDescription]
        /// With --no-frame: every byte received, as hex.
        var receivedHex: String?
        var answered: Bool
    }

    func run() async throws {
        let bytes = try bytesToSend()
        let line = try await WandLine.open(global)
        let outcome: Result<Report, Error>
        do {
            outcome = .success(noFrame ? try await unframed(bytes, line) : try await framed(bytes, line))
        } catch {
            outcome = .failure(error)
        }
        await line.close()
        let report: Report
        switch outcome {
        case .success(let value): report = value
        case .failure(let failure as CommandFailure): throw Output.fail(failure)
        case .failure(let error): throw error
        }
        if global.json {
            try Output.json(report)
        } else {
            if report.simulated { Output.line("SIMULATED WAND (not a real one)") }
            Output.line("sent     " + (report.sentFrame?.line ?? report.sent))
            for frame in report.received { Output.line("received " + frame.line) }
            if let receivedHex = report.receivedHex {
                Output.line(receivedHex.isEmpty ? "nothing received within \(timeout) ms" : "bytes    " + receivedHex)
            }
        }
        if !noFrame && !report.answered {
            throw Output.fail(CommandFailure(status: .communicationFailure,
                message: "No answer with sequence \(report.sentFrame?.sequence.map(String.init) ?? "?") within \(timeout) ms."))
        }
    }

    private func framed(_ body: [UInt8], _ line: WandLine) async throws -> Report {
        let wire: [UInt8]
        do { wire = try FrameEncoder.encode(body) } catch {
            throw CommandFailure(status: .usage, message: "The frame cannot be built: \(error). Nothing was sent.")
        }
        let sent = FrameDescription(body: body)
        try await send(wire, line)
        var decoder = FrameDecoder()
        var received: [FrameDescription] = []
        var answered = false
        let deadline = ContinuousClock.now + .milliseconds(timeout)
        reading: while ContinuousClock.now < deadline {
            let chunk: [UInt8]
            do { chunk = try await line.transport.receive(deadline: deadline) } catch .timedOut { break } catch {
                throw CommandFailure(status: .communicationFailure, message: error.description)
            }
            for frameBody in decoder.feed(chunk) {
                let frame = FrameDescription(body: frameBody)
                received.append(frame)
                // The answer carries the request's sequence; events (kind
                // 0x04, sequence 0) are shown but are not answers.
                // A body whose header does not parse may be refused under
                // another sequence (or 0), so any NAK answers it then.
                let headerParsed = sent.problem == nil || sent.message != "unparsed"
                if frame.kind != "event", (frame.sequence == sent.sequence && headerParsed) || (!headerParsed && frame.kind == "nak") {
                    answered = true
                    break reading
                }
            }
        }
        return Report(simulated: line.simulated, sent: HexText.format(body), sentFrame: sent, received: received,
                      receivedHex: nil, answered: answered)
    }

    private func unframed(_ bytes: [UInt8], _ line: WandLine) async throws -> Report {
        try await send(bytes, line)
        var everything: [UInt8] = []
        let deadline = ContinuousClock.now + .milliseconds(timeout)
        while ContinuousClock.now < deadline, everything.count < Self.maximumReceivedBytes {
            do { everything += try await line.transport.receive(deadline: deadline) } catch .timedOut { break } catch {
                throw CommandFailure(status: .communicationFailure, message: error.description)
            }
        }
        var decoder = FrameDecoder()
        let frames = decoder.feed(everything).map(FrameDescription.init(body:))
        return Report(simulated: line.simulated, sent: HexText.format(bytes), sentFrame: nil, received: frames,
                      receivedHex: HexText.format(everything), answered: !everything.isEmpty)
    }

    private func send(_ bytes: [UInt8], _ line: WandLine) async throws {
        do { try await line.transport.send(bytes) } catch {
            throw CommandFailure(status: .communicationFailure, message: error.description)
        }
    }
}

extension CommandFailure: Encodable {
    enum CodingKeys: String, CodingKey { case status, message }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status.rawValue, forKey: .status)
        try container.encode(message, forKey: .message)
    }
}
