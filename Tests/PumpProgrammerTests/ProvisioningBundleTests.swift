import Crypto
import Foundation
import PumpSimulator
import Testing
@testable import PumpProgrammer

/// Provisioning bundles: only the pinned signers are trusted, and every way
/// a bundle can be wrong is its own typed refusal with nothing kept.
@Suite("Provisioning bundles")
struct ProvisioningBundleTests {
    static let keyA = [UInt8](repeating: 0xA5, count: 32)
    static let keyB = (0..<32).map { UInt8(0x40 + $0) }

    static func demoBundle(_ entries: [(serial: String, key: [UInt8])] = [("RP20-0001", keyA), ("RP40-0002", keyB)]) throws -> [UInt8] {
        try DemoManufacturerSigner.bundle(entries: entries, issuedAt: 1_800_000_000, issuer: "test clinic batch 7")
    }

    @Test("A bundle signed by the DEMO signer verifies, with its entries, and says it is DEMO")
    func validDemoBundle() throws {
        let bundle = try ProvisioningBundle(verifying: try Self.demoBundle())
        #expect(bundle.signer == .demo)
        #expect(bundle.signer.isDemo)
        #expect(bundle.issuer == "test clinic batch 7")
        #expect(bundle.issuedAt == 1_800_000_000)
        #expect(bundle.entries.map(\.serial) == ["RP20-0001", "RP40-0002"])
        #expect(bundle.entries.map(\.key) == [Self.keyA, Self.keyB])
        #expect(bundle.bundleId.count == 16)
    }

    @Test("The pinned production signer is not the demo signer, and only the demo signer's private half is in the product")
    func productionKeyIsAnotherKey() throws {
        #expect(ManufacturerSigner.production.publicKey != ManufacturerSigner.demo.publicKey)
        #expect(!ManufacturerSigner.production.isDemo)
        #expect(Array(DemoManufacturerSigner.privateKey.publicKey.rawRepresentation) == ManufacturerSigner.demo.publicKey)
        #expect(ManufacturerSigner.pinned.contains(.production))
    }

    @Test("A bundle signed by any other key is refused as an unknown signer")
    func wrongSigner() throws {
        let stranger = Curve25519.Signing.PrivateKey()
        let bytes = try ProvisioningBundle.signed(issuer: "someone", issuedAt: 1_800_000_000,
                                                  entries: [("RP20-0001", Self.keyA)], signer: stranger)
        let id = ManufacturerSigner.id(of: Array(stranger.publicKey.rawRepresentation))
        #expect(throws: ProvisioningBundleError.unknownSigner(id: ProvisioningBundle.hex(id))) {
            try ProvisioningBundle(verifying: bytes)
        }
    }

    @Test("A bundle that claims a pinned signer's id but was signed by another key is refused as a bad signature")
    func forgedSignerId() throws {
        let stranger = Curve25519.Signing.PrivateKey()
        var bytes = try ProvisioningBundle.signed(issuer: "someone", issuedAt: 1_800_000_000,
                                                  entries: [("RP20-0001", Self.keyA)], signer: stranger)
        bytes.replaceSubrange(5..<13, with: ManufacturerSigner.production.id)
        #expect(throws: ProvisioningBundleError.badSignature(signer: "manufacturer")) { try ProvisioningBundle(verifying: bytes) }
    }

    @Test("One flipped bit anywhere in the signed part, or in the signature, is a bad signature", arguments: [21, 40, 60, 100, -1])
    func flippedByte(offset: Int) throws {
        var bytes = try Self.demoBundle()
        let index = offset < 0 ? bytes.count - 1 : offset
        bytes[index] ^= 0x01
        // The issuer starts at 22; offset 21 is its length, which changes
        // the structure, not only the signed bytes.
        if offset == 21 {
            #expect(throws: ProvisioningBundleError.self) { try ProvisioningBundle(verifying: bytes) }
        } else {
            #expect(throws: ProvisioningBundleError.badSignature(signer: "DEMO")) { try ProvisioningBundle(verifying: bytes) }
        }
    }

    @Test("A bundle cut short anywhere is refused as truncated")
    func truncated() throws {
        let bytes = try Self.demoBundle()
        for length in [0, 3, 4, 12, 20, 30, 60, bytes.count - 64, bytes.count - 1] {
            let cut = Array(bytes.prefix(length))
            if length < 4 {
                #expect(throws: ProvisioningBundleError.truncated(field: "magic")) { try ProvisioningBundle(verifying: cut) }
            } else {
                #expect(throws: ProvisioningBundleError.self) { try ProvisioningBundle(verifying: cut) }
                do {
                    _ = try ProvisioningBundle(verifying: cut)
                } catch {
                    guard case .truncated = error else {
                        Issue.record("length \(length): \(error), not truncated")
                        continue
                    }
                }
            }
        }
        #expect(throws: ProvisioningBundleError.trailingBytes(1)) { try ProvisioningBundle(verifying: bytes + [0]) }
    }

    @Test("A signed bundle listing a serial twice is refused whole")
    func duplicateSerial() throws {
        let bytes = try Self.demoBundle([("RP20-0001", Self.keyA), ("RP40-0002", Self.keyB), ("RP20-0001", Self.keyB)])
        #expect(throws: ProvisioningBundleError.duplicateSerial("RP20-0001")) { try ProvisioningBundle(verifying: bytes) }
    }

    @Test("A signed bundle with a serial that could leave the keyring folder is refused", arguments: ["../etc", "", "-rf", "A B", "RP20/0001", String(repeating: "A", count: 33)])
    func malformedSerial(serial: String) throws {
        let bytes = try Self.demoBundle([("RP20-0001", Self.keyA), (serial, Self.keyB)])
        #expect(throws: ProvisioningBundleError.malformedSerial(entry: 2)) { try ProvisioningBundle(verifying: bytes) }
    }

    @Test("A signed bundle with an all-zero key, another version or no header is refused")
    func otherRefusals() throws {
        let zero = try Self.demoBundle([("RP20-0001", [UInt8](repeating: 0, count: 32))])
        #expect(throws: ProvisioningBundleError.malformedKey(serial: "RP20-0001")) { try ProvisioningBundle(verifying: zero) }
        var version = try Self.demoBundle()
        version[4] = 2
        #expect(throws: ProvisioningBundleError.unsupportedVersion(2)) { try ProvisioningBundle(verifying: version) }
        var magic = try Self.demoBundle()
        magic[0] = UInt8(ascii: "X")
        #expect(throws: ProvisioningBundleError.notABundle) { try ProvisioningBundle(verifying: magic) }
        #expect(throws: ProvisioningBundleError.tooLarge(limit: ProvisioningBundle.maximumBytes)) {
            try ProvisioningBundle(verifying: [UInt8](repeating: 0, count: ProvisioningBundle.maximumBytes + 1))
        }
    }

    @Test("The committed demo bundle (hardware/keys/demo-pumps.bundle) is the simulator's demo pumps, DEMO-signed")
    func committedDemoBundle() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("hardware/keys/demo-pumps.bundle")
        let bundle = try ProvisioningBundle(verifying: Array(try Data(contentsOf: path)))
        #expect(bundle.signer == .demo)
        #expect(bundle.entries.map(\.serial) == [PumpIdentity.demoSerial, PumpIdentity.demo(model: "RP-40").serial])
        #expect(bundle.entries.allSatisfy { $0.key == PumpIdentity.demoKey })
    }
}
