import Foundation
import PumpSimulator
import StateFiles
import Testing
import TestSupport
import Therapy
import WandLink
import WandProtocol
@testable import PumpProgrammer

/// `keys rotate` against the simulated pump, through the real session and
/// sealing code: the old key stops opening sessions, the new one opens
/// them, and a re-key whose answer is lost leaves the keyring able to reach
/// the pump whichever key it holds.
@Suite("Key rotation against the simulator")
struct KeyRotationTests {
    let visit = SimulatedVisit()
    /// The keyring's folder, removed when the test ends.
    let temporary: TemporaryDirectory
    let store: PumpKeyStore
    static let serial = PumpIdentity.demoSerial
    static let retry = RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2)

    init() throws {
        temporary = try TemporaryDirectory(prefix: "pumpwand-test")
        store = PumpKeyStore(configDirectory: temporary.state.path)
        let bundle = try ProvisioningBundle(verifying: try DemoManufacturerSigner.bundle(
            entries: [(Self.serial, PumpIdentity.demoKey)], issuedAt: 1_800_000_000))
        try store.importBundle(bundle, now: 1_800_000_000)
    }

    func connect(_ keyring: PumpKeyring) async throws(ProgrammerError) -> PumpConnection {
        try await PumpConnection.open(transport: visit.transport, keyring: keyring, policy: Self.retry)
    }

    func programmer(on connection: PumpConnection) async throws -> Programmer {
        let clock = visit.clock
        let context = ProgrammerContext(
            stateDirectory: visit.directory, operatorName: "tech.a", secondOperator: nil,
            policy: try ClinicPolicy.shippedDefaults(), simulated: true, expectedPumpSerial: nil,
            now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) }, interrupted: { false })
        return try await Programmer(connection: connection, context: context)
    }

    @Test("After a rotation the old key opens no session and the new key does; the pump logged the new key's id")
    func oldKeyRevokedNewKeyWorks() async throws {
        let programmer = try await self.programmer(on: try await connect(try store.keyring(allowDemo: true)))
        let rotation = try await KeyRotation.plan(programmer, serial: Self.serial, store: store)
        let (result, outcome) = try await rotation.perform(programmer, confirmation: .flag(yes: true))
        await programmer.close()
        #expect(outcome == .rotated(newKeyId: rotation.newKeyId))
        #expect(result.effect == .changed([.rekey]))

        var record = try #require(try store.record(serial: Self.serial))
        defer { record.wipe() }
        #expect(record.pending == nil)
        #expect(record.current != PumpIdentity.demoKey)
        #expect(record.currentKeyId == rotation.newKeyId)
        // Rotated from a DEMO key: still a DEMO (simulated or bench) pump.
        #expect(record.demo)
        let pump = visit.transport.with { $0.pump }
        #expect(pump.identity.key == record.current)
        #expect(!pump.identity.keyIsDemo)
        // The session's end then records the audit anchor (0x0091) after it.
        let changed = pump.eventLog.entries.last { $0.code == PumpEventCode.keyChanged.rawValue }
        #expect(changed?.detail == Rekey.keyId(record.current))

        // The laptop that kept the old key: the pump's blinded key id matches
        // no key it holds, so no session opens.
        await #expect {
            _ = try await connect(PumpKeyring(anySerial: PumpIdentity.demoKey))
        } throws: { error in
            guard case .input(let detail) = error as? ProgrammerError else { return false }
            // A key for any serial (a --key-file) is told it is not this pump's.
            return detail.contains("does not open the pump in range")
        }
        let opened = try await connect(try store.keyring(allowDemo: true))
        #expect(await opened.keyRole == .current)
        #expect(await opened.pumpSerial == Self.serial)
    }

    @Test("A re-key whose every reply is lost leaves both keys; the next session opens with the new one and settles the keyring")
    func unacknowledgedRotationKeepsBothKeys() async throws {
        let programmer = try await self.programmer(on: try await connect(try store.keyring(allowDemo: true)))
        let rotation = try await KeyRotation.plan(programmer, serial: Self.serial, store: store)
        visit.transport.with { $0.inject(.dropResponsesFromNextChange) }
        await #expect {
            _ = try await rotation.perform(programmer, confirmation: .flag(yes: true))
        } throws: { error in
            guard let error = error as? ProgrammerError, case .uncertain(let pending) = error else { return false }
            return pending.command == CommandKind.rekey.rawValue && KeyRotation.outcomeUnknown(error)
        }
        // A second re-key over the unsettled one is refused before anything is sent.
        await #expect {
            _ = try await KeyRotation.plan(programmer, serial: Self.serial, store: store)
        } throws: { error in
            guard case .refusedByPolicy(let message) = error as? ProgrammerError else { return false }
            return message.contains("unacknowledged")
        }
        visit.transport.with { $0.inject(.inRange) }

        let held = try #require(try store.record(serial: Self.serial))
        #expect(held.current == PumpIdentity.demoKey)
        #expect(held.pendingKeyId == rotation.newKeyId)
        // The pump did act: it holds the new key.
        #expect(visit.transport.with { $0.pump.identity.key } == held.pending)
        #expect(try store.keyring(allowDemo: true).candidates(for: Self.serial).map(\.role) == [.pending, .current])

        let next = try await connect(try store.keyring(allowDemo: true))
        #expect(await next.keyRole == .pending)
        let note = try KeyRotation.settle(store, serial: Self.serial, opened: await next.keyRole)
        #expect(note?.contains(rotation.newKeyId) == true)
        let settled = try #require(try store.record(serial: Self.serial))
        #expect(settled.pending == nil)
        #expect(settled.currentKeyId == rotation.newKeyId)
        // The session works: the pending command of the re-key is resolved by asking the pump.
        let resumed = try await self.programmer(on: next)
        let (_, resolution) = try await resumed.interrogate()
        #expect(resolution != nil)
    }

    @Test("A re-key the pump never received leaves its old key; the keyring drops the pending key when the old key opens")
    func lostRequestDropsPendingKey() async throws {
        try store.setPending(serial: Self.serial, key: [UInt8](repeating: 0x77, count: 32))
        let opened = try await connect(try store.keyring(allowDemo: true))
        #expect(await opened.keyRole == .current)
        let note = try KeyRotation.settle(store, serial: Self.serial, opened: await opened.keyRole)
        #expect(note?.contains("never took effect") == true)
        #expect(try store.record(serial: Self.serial)?.pending == nil)
        #expect(try store.record(serial: Self.serial)?.current == PumpIdentity.demoKey)
    }

    @Test("A rotation naming another pump than the one in range is refused before anything is written or sent")
    func otherPumpRefused() async throws {
        let other = try ProvisioningBundle(verifying: try DemoManufacturerSigner.bundle(
            entries: [("RP20-OTHER-0002", [UInt8](repeating: 9, count: 32))], issuedAt: 1))
        try store.importBundle(other, now: 1)
        let programmer = try await self.programmer(on: try await connect(try store.keyring(allowDemo: true)))
        await #expect {
            _ = try await KeyRotation.plan(programmer, serial: "RP20-OTHER-0002", store: store)
        } throws: { error in
            guard case .refusedByPolicy = error as? ProgrammerError else { return false }
            return true
        }
        #expect(try store.record(serial: "RP20-OTHER-0002")?.pending == nil)
        #expect(visit.transport.with { $0.pump.identity.key } == PumpIdentity.demoKey)
    }

    @Test("A keyring with a DEMO key left out names the pump as refused, not unknown")
    func demoKeyRefusedByName() async throws {
        await #expect {
            _ = try await connect(try store.keyring(allowDemo: false))
        } throws: { error in
            guard case .refusedByPolicy(let message) = error as? ProgrammerError else { return false }
            return message.contains(Self.serial) && message.contains("--allow-demo-keys")
        }
    }
}
