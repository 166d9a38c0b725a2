@preconcurrency import Crypto
import Foundation
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpProgrammer

/// The attacks an outside review made on the keyring, each carried out and
/// shown to do no harm: removing the keys of an unsettled re-key, a rotated
/// DEMO pump passing for a patient's, a DEMO bundle's issuer text posing as
/// the manufacturer, serials differing only in case, an unsafe key file
/// taken for a usage mistake, a sticky folder's mode cut short.
@Suite("Keyring attacks")
struct KeyringAttackTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var config: FilePath { FilePath(temporary.path) }
    var store: PumpKeyStore { PumpKeyStore(configDirectory: config) }
    static let keyA = [UInt8](repeating: 0xA5, count: 32)
    static let keyB = [UInt8](repeating: 0x5A, count: 32)

    static func demoBundle(_ entries: [(serial: String, key: [UInt8])], issuer: String = "batch 1") throws -> ProvisioningBundle {
        try ProvisioningBundle(verifying: try DemoManufacturerSigner.bundle(entries: entries, issuedAt: 1_800_000_000, issuer: issuer))
    }

    @Test("H193: remove is refused while a re-key is unacknowledged; both keys stay until it is settled or the override is given")
    func removeRefusedWhileRekeyUnsettled() throws {
        try store.importBundle(try Self.demoBundle([("RP20-0001", Self.keyA), ("RP40-0002", Self.keyA)]), now: 1)
        try store.setPending(serial: "RP20-0001", key: Self.keyB)
        #expect(throws: PumpKeyStoreError.unsettledRekey(serial: "RP20-0001", pendingKeyId: Rekey.keyIdHex(Self.keyB))) {
            try store.remove(serial: "RP20-0001")
        }
        var held = try #require(try store.record(serial: "RP20-0001"))
        #expect(held.current == Self.keyA)
        #expect(held.pending == Self.keyB)
        held.wipe()
        #expect(PumpKeyStoreError.unsettledRekey(serial: "RP20-0001", pendingKeyId: "x").description.contains("pumpctl interrogate"))

        // Settled (the pump answered to the new key): removable.
        _ = try KeyRotation.settle(store, serial: "RP20-0001", opened: .pending)
        try store.remove(serial: "RP20-0001")
        #expect(try store.record(serial: "RP20-0001") == nil)

        // The explicit override removes an unsettled entry.
        try store.setPending(serial: "RP40-0002", key: Self.keyB)
        try store.remove(serial: "RP40-0002", discardingUnsettledRekey: true)
        #expect(try store.records().isEmpty)
    }

    @Test("H194: a key rotated from a DEMO key stays DEMO: refused without --allow-demo-keys, marked simulated with it")
    func rotatedDemoKeyStaysDemo() throws {
        try store.importBundle(try Self.demoBundle([("RP20-0001", Self.keyA)]), now: 1)
        try store.setPending(serial: "RP20-0001", key: Self.keyB)
        try store.promotePending(serial: "RP20-0001", now: 2)
        var record = try #require(try store.record(serial: "RP20-0001"))
        defer { record.wipe() }
        #expect(record.current == Self.keyB)
        #expect(record.demo)
        #expect(record.signerName == "DEMO")
        #expect(record.source == "re-key of a DEMO key")
        #expect(try store.keyring(allowDemo: false).demoRefused == ["RP20-0001"])
        #expect(try store.keyring(allowDemo: true).demoSerials == ["RP20-0001"])
    }

    @Test("H194: a key rotated from a production-signed key is not DEMO")
    func rotatedProductionKeyIsNotDemo() throws {
        // A stand-in for the production signer (not DEMO): its private half
        // is this test's own.
        let key = Curve25519.Signing.PrivateKey()
        let signer = ManufacturerSigner(name: "manufacturer", publicKey: Array(key.publicKey.rawRepresentation), isDemo: false)
        let bytes = try ProvisioningBundle.signed(issuer: "Clinic batch 4", issuedAt: 1_800_000_000,
                                                  entries: [("RP20-0009", Self.keyA)], signer: key)
        try store.importBundle(try ProvisioningBundle(verifying: bytes, trusting: [signer]), now: 1)
        try store.setPending(serial: "RP20-0009", key: Self.keyB)
        try store.promotePending(serial: "RP20-0009", now: 2)
        var record = try #require(try store.record(serial: "RP20-0009"))
        defer { record.wipe() }
        #expect(!record.demo)
        #expect(record.source == "re-key")
        #expect(record.signerName == "manufacturer")
    }

    @Test("H195: a DEMO bundle whose issuer text claims the production signer is recorded as DEMO, named from the pinned key")
    func demoBundleIssuerTextDoesNotNameTheSigner() throws {
        let bundle = try Self.demoBundle([("RP20-0001", Self.keyA)], issuer: "Manufacturer production signer")
        #expect(bundle.signer == ManufacturerSigner.demo)
        try store.importBundle(bundle, now: 1)
        var record = try #require(try store.record(serial: "RP20-0001"))
        defer { record.wipe() }
        #expect(record.demo)
        #expect(record.signerName == "DEMO")
        #expect(record.source.contains("DEMO signer, issuer text \"Manufacturer production signer\""), "\(record.source)")
    }

    @Test("H196: serials differing only in letter case are refused, within a bundle and against the keyring")
    func serialsDifferingOnlyInCaseAreRefused() throws {
        #expect(throws: ProvisioningBundleError.duplicateSerial("AB-1")) {
            _ = try Self.demoBundle([("ab-1", Self.keyA), ("AB-1", Self.keyB)])
        }
        try store.importBundle(try Self.demoBundle([("ab-1", Self.keyA)]), now: 1)
        #expect(throws: PumpKeyStoreError.serialCaseCollision(serial: "AB-1", held: "ab-1")) {
            try store.importBundle(try Self.demoBundle([("AB-1", Self.keyB), ("RP20-0001", Self.keyB)]), now: 2)
        }
        // Nothing of the refused bundle was written; the held key is intact.
        #expect(try store.records().map(\.serial) == ["ab-1"])
        var held = try #require(try store.record(serial: "ab-1"))
        #expect(held.current == Self.keyA)
        held.wipe()
    }

    @Test("H197: a key file others can read is a permission failure, not a usage mistake")
    func looseKeyFileIsPermissionDenied() throws {
        let file = config.appending("pump.key")
        try AtomicFile.write(Self.keyA, to: file)
        #expect(chmod(file.string, 0o644) == 0)
        #expect {
            _ = try PumpKeyring.load(keyFile: file)
        } throws: { error in
            guard case ProgrammerError.permissionDenied(let message) = error else { return false }
            return message.contains("mode 644")
        }
    }

    @Test("H197: a sticky world-writable keyring folder is refused with its full mode (1777)")
    func stickyFolderModeIsReportedInFull() throws {
        try store.importBundle(try Self.demoBundle([("RP20-0001", Self.keyA)]), now: 1)
        #expect(chmod(store.folder.string, 0o1777) == 0)
        defer { _ = chmod(store.folder.string, 0o700) }
        #expect(throws: PumpKeyStoreError.file(.unsafeDirectory(path: store.folder.string, problem: .writableByOthers(mode: 0o1777)))) {
            _ = try store.records()
        }
        #expect(StateFileError.unsafeDirectory(path: "/k", problem: .writableByOthers(mode: 0o1777)).description.contains("mode 1777"))
    }

    @Test("A refusal whose message ends in a full stop is not given a second one")
    func refusalHasOneFullStop() {
        #expect(ProgrammerError.refusedByPolicy("it was refused.").description == "REFUSED: it was refused.")
        #expect(ProgrammerError.refusedByPolicy("it was refused").description == "REFUSED: it was refused.")
    }
}
