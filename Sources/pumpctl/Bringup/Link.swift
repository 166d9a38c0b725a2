import ArgumentParser
import WandProtocol

/// `pumpctl link`: tests of the wand and its link, no pump session needed.
struct Link: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Test the wand and its link: loopback echoes and the wand's counters (no pump session).",
        subcommands: [LinkLoopback.self, LinkStatusCommand.self])
}

struct LinkLoopback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loopback",
        abstract: "Echo frames through the wand; report sent, received, lost, corrupted, latency and throughput.",
        discussion: """
            Each echo is sent once (no retransmission, so every loss counts) and waits --timeout for its answer. Echo i carries bytes (31*i + j) mod 256, j = 0..size-1. Latency is per echo from send to intact answer; p50/p95/p99 are nearest-rank percentiles. Throughput counts payload bytes that came back intact, per second of the whole run. Progress goes to stderr once a second.

            Exit status 0 when nothing was lost beyond --max-lost and nothing came back corrupted; 74 otherwise (the report is printed either way).
            """)

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Number of echoes (1 ... 1 000 000).") var count = 100
    @Option(help: "Bytes per echo (0 ... 256).") var size = 32
    @Option(help: "Milliseconds to wait for each echo (1 ... 60 000).") var timeout = 1500
    @Option(name: .customLong("max-lost"), help: "Lost echoes still counted as a pass.") var maxLost = 0

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1 ... 1000000.") }
        guard (0...WandRequest.maximumLoopbackLength).contains(size) else {
            throw ValidationError("--size must be 0 ... \(WandRequest.maximumLoopbackLength) bytes (the wand's loopback limit).")
        }
        guard (1...60_000).contains(timeout) else { throw ValidationError("--timeout must be 1 ... 60000 ms.") }
        guard maxLost >= 0 else { throw ValidationError("--max-lost must not be negative.") }
    }

    func run() async throws {
        let line = try await WandLine.open(global)
        let run = LoopbackRun(count: count, size: size)
        let outcome: Result<(LoopbackRun.Result, WandIdentity), Error>
        do {
            let channel = line.channel(attemptTimeout: .milliseconds(timeout), attempts: 1)
            let identity = WandIdentity(try await WandLine.identify(channel, peer: line.transport.peerDescription))
            let count = self.count
            let result = try await run.run(on: channel) { soFar in
                Output.note("loopback: \(soFar.sent)/\(count) sent, \(soFar.received) received, \(soFar.lost) lost, \(soFar.corrupted) corrupted")
            }
            outcome = .success((result, identity))
        } catch {
            outcome = .failure(error)
        }
        await line.close()
        let (result, identity): (LoopbackRun.Result, WandIdentity)
        switch outcome {
        case .success(let value): (result, identity) = value
        case .failure(let gone as LoopbackRun.LinkGone):
            throw Output.fail(CommandFailure(status: .communicationFailure, message: "Loopback stopped: \(gone.message)."))
        case .failure(let error): throw error
        }
        let report = LoopbackReport(result, run: run, wand: identity, simulated: line.simulated)
        if global.json { try Output.json(report) } else { Output.line(report.text) }
        if result.corrupted > 0 || result.lost > maxLost {
            throw Output.fail(CommandFailure(status: .communicationFailure,
                message: "The link failed the loopback test: \(result.lost) lost (allowed \(maxLost)), \(result.corrupted) corrupted."))
        }
    }
}

struct LinkStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the wand's identity and link counters: pump in range, signal quality, CRC errors, retries, frames relayed.")

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Milliseconds to wait for each answer (1 ... 60 000).") var timeout = 1500

    func validate() throws {
        guard (1...60_000).contains(timeout) else { throw ValidationError("--timeout must be 1 ... 60000 ms.") }
    }

    struct Report: Encodable {
        var simulated: Bool
        var wand: WandIdentity
        var pumpInRange: Bool
        var signalQualityPercent: Int
        var crcErrors: UInt32
        var retries: UInt32
        var framesRelayed: UInt32

        init(_ status: LinkStatus, wand: WandIdentity, simulated: Bool) {
            self.simulated = simulated
            self.wand = wand
            pumpInRange = status.pumpInRange
            signalQualityPercent = Int(status.signalQualityPercent)
            crcErrors = status.crcErrors
            retries = status.retries
            framesRelayed = status.framesRelayed
        }

        var text: String {
            [simulated ? "SIMULATED WAND (not a real one)" : nil,
             "Wand \(wand.serial), firmware \(wand.firmware)",
             "pump in range: \(pumpInRange ? "yes" : "no")",
             "signal quality: \(signalQualityPercent)%",
             "CRC errors: \(crcErrors)",
             "radio retries: \(retries)",
             "frames relayed: \(framesRelayed)"].compactMap { $0 }.joined(separator: "\n")
        }
    }

    /// Asks the wand for its link status; shared with `serve`.
    static func read(_ channel: WandChannel) async throws(CommandFailure) -> LinkStatus {
        switch await channel.wand(.linkStatus) {
        case .replied(.linkStatus(let status), _): return status
        case .replied(let other, _):
            throw CommandFailure(status: .deviceFault, message: "The wand answered the link status request with opcode \(HexText.byte(other.encoded.first ?? 0)).")
        case .notSent(let reason):
            throw CommandFailure(status: .communicationFailure, message: "The link status request was not sent (\(reason)).")
        case .unacknowledged(let attempts, _, _):
            throw CommandFailure(status: .communicationFailure, message: "The wand did not answer the link status request (\(attempts) attempts).")
        }
    }

    func run() async throws {
        let line = try await WandLine.open(global)
        let outcome: Result<Report, Error>
        do {
            let channel = line.channel(attemptTimeout: .milliseconds(timeout), attempts: 3)
            let identity = WandIdentity(try await WandLine.identify(channel, peer: line.transport.peerDescription))
            let status = try await Self.read(channel)
            outcome = .success(Report(status, wand: identity, simulated: line.simulated))
        } catch {
            outcome = .failure(error)
        }
        await line.close()
        switch outcome {
        case .success(let report):
            if global.json { try Output.json(report) } else { Output.line(report.text) }
        case .failure(let failure as CommandFailure):
            throw Output.fail(failure)
        case .failure(let error):
            throw error
        }
    }
}
