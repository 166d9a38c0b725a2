import Foundation
import SystemPackage
import Testing
import TestSupport
import WandLink
import WandProtocol
@testable import PumpSimulator

/// The built `wandsim` as a child process, reached through the real
/// serial transport (termios, flock, poll) on its pty.
@Suite(.serialized, .tags(.process, .pty), .childProcesses) struct WandsimProcessTests {
    static var wandsimBinary: URL {
        // The test bundle sits in the build products folder, next to wandsim.
        var url = URL(fileURLWithPath: CommandLine.arguments[0])
        for _ in 0..<4 {
            url = url.deletingLastPathComponent()
            let candidate = url.appendingPathComponent("wandsim")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return Bundle.main.bundleURL.appendingPathComponent("wandsim")
    }

    static func exchange(_ transport: SerialTransport, _ body: [UInt8], decoder: inout FrameDecoder) async throws -> Frame {
        try await transport.send(FrameEncoder.encode(body))
        while true {
            let bytes = try await transport.receive(deadline: .now + .seconds(10))
            if let body = decoder.feed(bytes).first { return try Frame(body: body) }
        }
    }

    @Test func servesASessionOnItsPtyAndSavesOnSIGTERM() async throws {
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-wandsim")
        defer { directoryFolder.remove() }
        let directory = URL(fileURLWithPath: directoryFolder.path)
        let statePath = directory.appendingPathComponent("wandsim.json").path
        // Killed with its RunningChild if the test ends early.
        let wandsim = try await ChildProcess.start(Self.wandsimBinary.path, ["--state", statePath, "--latency-ms", "5"])

        let announced = try #require(await wandsim.line(startingWith: "SIMULATED pty: "), "wandsim: \(wandsim.stderr)")
        let ptyPath = String(announced.dropFirst("SIMULATED pty: ".count))
        #expect(ptyPath.hasPrefix("/dev/pts/"))

        for round in 1...2 {
            // Two hosts one after the other: closing the slave does not end the wand.
            let transport = try SerialTransport(path: ptyPath)
            var decoder = FrameDecoder()
            let handshake = SessionHandshake()
            let opened = try await Self.exchange(transport, FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded,
                                                 decoder: &decoder)
            var session = try handshake.complete(replyPayload: opened.payload, candidates: PumpKey(bytes: PumpIdentity.demoKey).map { [PumpKeyCandidate(serial: nil, key: $0)] } ?? [])
            let interrogate = try session.seal(.interrogate(InterrogateRequest()), sequence: 2)
            let reply = try session.open(try await Self.exchange(transport, interrogate.frameBody, decoder: &decoder),
                                         answering: interrogate.counter)
            guard case let .interrogate(report) = reply else { Issue.record("no report"); return }
            #expect(report.serial == PumpIdentity.demoSerial)
            #expect(report.reservoirConcentrationNanogramsPerMillilitre == 2_000_000)
            if round == 2 {
                let bolus = StartBolus(commandId: commandID(42), expiry: .after(pumpClock: report.clock.utcSeconds), kind: .therapeutic, doseNanograms: 20_000, volumeNanolitres: 10_000,
                                       durationSeconds: 600)
                let sealed = try session.seal(.startBolus(bolus), sequence: 3)
                let started = try session.open(try await Self.exchange(transport, sealed.frameBody, decoder: &decoder),
                                               answering: sealed.counter)
                #expect(started.refusal == nil)
            }
            // Let go of the tty so that no child being started elsewhere
            // keeps its flock for the next round's open.
            await ChildProcess.withNoChildStarting { await transport.close() }
        }

        // wandsim takes SIGTERM once libdispatch has armed its source (long since, by now).
        _ = await wandsim.waitUntilCatching(SIGTERM)
        let stopped = await wandsim.terminate() // SIGTERM
        #expect(!stopped.signalled)
        #expect(stopped.status == 0)
        let saved = try SimulatorStateFile(path: FilePath(statePath)).load()
        #expect(saved.pump.outcomes.storedReply(for: commandID(42)) != nil)
        #expect(await wandsim.line(startingWith: "SIMULATED wandsim stopped") != nil)
    }
}
