@preconcurrency import Crypto
import Foundation
import StateFiles
import WandProtocol

/// A manufacturer's provisioning bundle: the keys of the pumps a clinic
/// receives, signed with Ed25519 (docs/keys.md).
///
/// ```
/// offset  size  field
/// 0       4     magic "PWKB"
/// 4       1     format version, 1
/// 5       8     signer id: SHA-256(signer's 32-byte public key), first 8 bytes
/// 13      8     issued at, UTC seconds since 1970 (Int64 LE, 0 ... 2^40)
/// 21      1     issuer length L (1 ... 64), then L bytes of printable ASCII
/// ..      2     entry count N (UInt16 LE, 1 ... 1000)
/// ..      N ×   serial length S (1 ... 32), S bytes [A-Za-z0-9-] (not
///               starting with '-'), 32-byte pump key (not all zero)
/// ..      64    Ed25519 signature over "PumpWand provisioning bundle v1\0"
///               followed by every byte before the signature
/// ```
///
/// Nothing in a bundle is used until the whole of it has parsed, its
/// signature has verified against a pinned signer and every entry has
/// passed its checks: a bundle is imported whole or not at all.
public struct ProvisioningBundle: Sendable {
    public struct Entry: Sendable {
        public let serial: String
        /// The pump's key, 32 bytes. Never printed.
        public fileprivate(set) var key: [UInt8]
    }

    public static let magic: [UInt8] = Array("PWKB".utf8)
    public static let version: UInt8 = 1
    public static let signatureContext: [UInt8] = Array("PumpWand provisioning bundle v1".utf8) + [0]
    public static let maximumEntries = 1000
    public static let maximumIssuerLength = 64
    public static let maximumSerialLength = 32
    /// The largest well-formed bundle (1000 entries of 32-character serials,
    /// a 64-character issuer), rounded up: a larger file is not read.
    public static let maximumBytes = 70_000
    static let latestIssueTime: Int64 = 1 << 40

    public let signer: ManufacturerSigner
    public let issuedAt: Int64
    public let issuer: String
    public private(set) var entries: [Entry]
    /// The bundle's own id: SHA-256 of its bytes, first 8 bytes as hex. The
    /// keyring records it as the source of each key it imported.
    public let bundleId: String

    /// Parses and verifies `bytes`; throws the first problem found, having
    /// kept nothing.
    public init(verifying bytes: [UInt8], trusting signers: [ManufacturerSigner] = ManufacturerSigner.pinned)
        throws(ProvisioningBundleError)
    {
        guard bytes.count <= Self.maximumBytes else { throw .tooLarge(limit: Self.maximumBytes) }
        var cursor = Cursor(bytes)
        guard try cursor.take(4, "magic") == Self.magic else { throw .notABundle }
        let version = try cursor.byte("version")
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let signerId = try cursor.take(8, "signer id")
        let issued = try cursor.int64("issued at")
        guard (0...Self.latestIssueTime).contains(issued) else { throw .malformed(field: "issued at") }
        let issuerLength = Int(try cursor.byte("issuer length"))
        guard (1...Self.maximumIssuerLength).contains(issuerLength) else { throw .malformed(field: "issuer length") }
        let issuerBytes = try cursor.take(issuerLength, "issuer")
        guard issuerBytes.allSatisfy({ (0x20...0x7E).contains($0) }) else { throw .malformed(field: "issuer") }
        let count = Int(try cursor.uint16("entry count"))
        guard (1...Self.maximumEntries).contains(count) else { throw .malformed(field: "entry count") }
        var parsed: [(serial: [UInt8], key: [UInt8])] = []
        parsed.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try cursor.byte("serial length"))
            let serial = try cursor.take(length, "serial")
            let key = try cursor.take(PumpKey.length, "key")
            parsed.append((serial, key))
        }
        // Wiped on every way out: the parsed copies held keys.
        defer { for index in parsed.indices { ProcessGuard.wipe(&parsed[index].key) } }
        let signedLength = cursor.offset
        let signature = try cursor.take(64, "signature")
        guard cursor.offset == bytes.count else { throw .trailingBytes(bytes.count - cursor.offset) }

        // The signature before any entry is looked at: an unsigned or
        // altered bundle says nothing about which serials are valid.
        guard let trusted = signers.first(where: { $0.id == signerId }) else {
            throw .unknownSigner(id: Self.hex(signerId))
        }
        guard trusted.isValidSignature(signature, for: Self.signatureContext + bytes[0..<signedLength]) else {
            throw .badSignature(signer: trusted.name)
        }
        var seen = Set<String>()
        var entries: [Entry] = []
        for (index, entry) in parsed.enumerated() {
            guard let serial = PumpKeyStore.checkedSerial(entry.serial) else { throw .malformedSerial(entry: index + 1) }
            // Compared without case: "ab-1" and "AB-1" would be one keyring
            // file on a case-insensitive file system.
            guard seen.insert(PumpKeyStore.foldedSerial(serial)).inserted else { throw .duplicateSerial(serial) }
            guard entry.key.contains(where: { $0 != 0 }) else { throw .malformedKey(serial: serial) }
            entries.append(Entry(serial: serial, key: entry.key))
        }
        self.signer = trusted
        self.issuedAt = issued
        self.issuer = String(decoding: issuerBytes, as: UTF8.self)
        self.entries = entries
        self.bundleId = Self.hex(Array(SHA256.hash(data: bytes).prefix(8)))
    }

    /// Wipes the keys this bundle holds (after they were written to the keyring).
    public mutating func wipe() {
        for index in entries.indices { ProcessGuard.wipe(&entries[index].key) }
    }

    /// The bytes of a bundle signed with `key` (the demo signer, or a test
    /// signer). The production signing key never reaches this program.
    public static func signed(issuer: String, issuedAt: Int64, entries: [(serial: String, key: [UInt8])],
                              signer key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        var body = magic + [version]
        body += ManufacturerSigner.id(of: Array(key.publicKey.rawRepresentation))
        body += withUnsafeBytes(of: issuedAt.littleEndian, Array.init)
        let issuerBytes = Array(issuer.utf8)
        body.append(UInt8(clamping: issuerBytes.count))
        body += issuerBytes
        body += withUnsafeBytes(of: UInt16(clamping: entries.count).littleEndian, Array.init)
        for entry in entries {
            let serial = Array(entry.serial.utf8)
            body.append(UInt8(clamping: serial.count))
            body += serial
            body += entry.key
        }
        let signature = try key.signature(for: signatureContext + body)
        return body + Array(signature)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// Bounded reads over the bundle's bytes; running out is `.truncated`.
    private struct Cursor {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func take(_ count: Int, _ field: String) throws(ProvisioningBundleError) -> [UInt8] {
            guard count <= bytes.count - offset else { throw .truncated(field: field) }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        mutating func byte(_ field: String) throws(ProvisioningBundleError) -> UInt8 { try take(1, field)[0] }
        mutating func uint16(_ field: String) throws(ProvisioningBundleError) -> UInt16 {
            let b = try take(2, field)
            return UInt16(b[0]) | UInt16(b[1]) << 8
        }
        mutating func int64(_ field: String) throws(ProvisioningBundleError) -> Int64 {
            let b = try take(8, field)
            var value: UInt64 = 0
            for (index, byte) in b.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            return Int64(bitPattern: value)
        }
    }
}

/// Why a provisioning bundle was refused. Nothing of it was imported.
public enum ProvisioningBundleError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(limit: Int)
    case notABundle
    case unsupportedVersion(UInt8)
    /// The file ends inside `field`.
    case truncated(field: String)
    case malformed(field: String)
    case trailingBytes(Int)
    /// Signed by a key this product does not trust (its id, hex).
    case unknownSigner(id: String)
    /// Names a trusted signer, but the signature does not verify: the
    /// bundle was altered or damaged after signing.
    case badSignature(signer: String)
    /// Entry (1-based) has a serial that is empty, too long or has other
    /// characters than letters, digits and '-'.
    case malformedSerial(entry: Int)
    case duplicateSerial(String)
    case malformedKey(serial: String)

    public var description: String {
        switch self {
        case let .tooLarge(limit): "it is larger than \(limit) bytes, more than any bundle"
        case .notABundle: "it is not a PumpWand provisioning bundle (no PWKB header)"
        case let .unsupportedVersion(version): "it is bundle format version \(version); this pumpctl reads version \(ProvisioningBundle.version)"
        case let .truncated(field): "it is cut short (it ends in the \(field))"
        case let .malformed(field): "its \(field) is out of range"
        case let .trailingBytes(count): "it has \(count) bytes after its signature"
        case let .unknownSigner(id): "it is signed by a key this product does not trust (signer id \(id)); only the manufacturer's bundles are accepted"
        case let .badSignature(signer): "its signature does not verify against the \(signer) key: the bundle was changed or damaged after it was signed"
        case let .malformedSerial(entry): "entry \(entry) has a malformed pump serial"
        case let .duplicateSerial(serial): "it lists pump \(serial) more than once (serials are compared without letter case)"
        case let .malformedKey(serial): "the key for pump \(serial) is all zero"
        }
    }
}
