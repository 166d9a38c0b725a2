@preconcurrency import Crypto

/// The DEMO manufacturer signer, private half included.
///
/// DEMO ONLY: this seed is published in the repository (it is
/// SHA-256("PumpWand DEMO manufacturer signer: published, protects
/// nothing")), so anyone can sign a bundle with it. It exists so the
/// simulator's demo pumps and the tests have bundles; pumpctl marks every
/// key imported from such a bundle as DEMO and refuses it for a pump that is
/// not simulated unless `--allow-demo-keys` is given.
public enum DemoManufacturerSigner {
    public static let seed = ManufacturerSigner.hexBytes("155b8772c25006036e16aae754c166b0730dbb14e30426cb45b0898a68f7ed9a")

    public static var privateKey: Curve25519.Signing.PrivateKey {
        // The seed is a constant of the right length: this cannot fail.
        (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)) ?? Curve25519.Signing.PrivateKey()
    }

    /// A DEMO bundle for `entries`, issued at `issuedAt`.
    public static func bundle(entries: [(serial: String, key: [UInt8])], issuedAt: Int64,
                              issuer: String = "DEMO manufacturer (published signer)") throws -> [UInt8] {
        try ProvisioningBundle.signed(issuer: issuer, issuedAt: issuedAt, entries: entries, signer: privateKey)
    }
}
