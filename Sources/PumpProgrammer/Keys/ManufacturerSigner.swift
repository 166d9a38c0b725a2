@preconcurrency import Crypto

/// A key that signs provisioning bundles, pinned in the product: a bundle
/// is trusted only if one of these signed it (docs/keys.md).
public struct ManufacturerSigner: Sendable, Equatable {
    public let name: String
    /// The Ed25519 public key, 32 bytes.
    public let publicKey: [UInt8]
    /// Whether this is the published DEMO signer: its bundles are for the
    /// simulator and bench pumps only, never a patient's pump.
    public let isDemo: Bool

    /// The first 8 bytes of SHA-256 of the public key, as carried in a bundle.
    public var id: [UInt8] { Self.id(of: publicKey) }

    public static func id(of publicKey: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: publicKey).prefix(8)) }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    /// The manufacturer's production signer (signer id d1a9e2685a8a4072).
    /// Its private half never enters the repository or this program: it is
    /// held by the manufacturer's offline signing station (docs/keys.md).
    public static let production = ManufacturerSigner(
        name: "manufacturer", publicKey: hexBytes("e7ea6691b5b8d4d81ada89aba2410e1ede5fcd4576ebefe43af336baf16e0fce"), isDemo: false)

    /// The DEMO signer (signer id af21367da108075e). Its private half is
    /// published (`DemoManufacturerSigner`), so its bundles prove nothing.
    public static let demo = ManufacturerSigner(
        name: "DEMO", publicKey: hexBytes("40630a124afb6e8535dbd180fd73944e2b1f207217af629f45d75204e2994ad8"), isDemo: true)

    /// The signers this product accepts bundles from.
    public static let pinned: [ManufacturerSigner] = [production, demo]

    static func hexBytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
