@preconcurrency import Crypto
import Foundation

/// The v2 key schedule (PROTOCOL.md section 6.3), modelled on
/// Noise_NNpsk2_25519_ChaChaPoly_SHA256: host -> e; pump -> e, ee, psk and a
/// sealed payload. The pump key is the pre-shared key; the session keys also
/// depend on an X25519 exchange between two ephemeral keys, so a recorded
/// session stays closed to whoever later steals the pump key.
///
/// `HKDF(ck, ikm, n)` is RFC 5869 HKDF-SHA256 with salt = ck, IKM = ikm,
/// empty info, n x 32 output bytes (the same function as Noise's HKDF).
struct HandshakeSchedule {
    static let protocolName = Array("Noise_NNpsk2_25519_ChaChaPoly_SHA256".utf8)
    static let prologue = Array("PumpWand v2".utf8)
    static let keyIdLabel = Array("PumpWand key id v2".utf8)

    /// Chaining key.
    private(set) var ck: [UInt8]
    /// Transcript hash.
    private(set) var h: [UInt8]
    /// The handshake payload key (after the psk step).
    private var k: [UInt8] = []

    /// Steps 1-3: name, prologue and version, then both ephemerals and the key id
    /// enter the transcript hash.
    init(version: UInt8, hostEphemeral: [UInt8], pumpEphemeral: [UInt8], keyId: [UInt8]) {
        let h0 = Array(SHA256.hash(data: Self.protocolName))
        ck = h0
        h = h0
        mixHash(Self.prologue + [version])
        mixHash(hostEphemeral)
        mixHash(pumpEphemeral)
        mixHash(keyId)
    }

    static func hkdf(_ ck: [UInt8], _ ikm: [UInt8], outputs: Int) -> [[UInt8]] {
        let okm = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: ck, info: [UInt8](),
                                         outputByteCount: 32 * outputs)
        let bytes = okm.withUnsafeBytes { Array($0) }
        return (0..<outputs).map { Array(bytes[($0 * 32)..<($0 * 32 + 32)]) }
    }

    mutating func mixHash(_ data: [UInt8]) { h = Array(SHA256.hash(data: h + data)) }

    /// ee: mixes the ephemeral Diffie-Hellman result into the chaining key.
    mutating func mixKey(_ sharedSecret: [UInt8]) {
        let out = Self.hkdf(ck, sharedSecret, outputs: 2)
        ck = out[0]
        k = out[1]
    }

    /// psk: mixes the pump key into the chaining key and the transcript.
    mutating func mixKeyAndHash(_ psk: [UInt8]) {
        let out = Self.hkdf(ck, psk, outputs: 3)
        ck = out[0]
        mixHash(out[1])
        k = out[2]
    }

    /// Seals the handshake payload under k with nonce 0 and the transcript as
    /// associated data, then hashes the ciphertext into the transcript.
    mutating func encryptAndHash(_ plaintext: [UInt8]) -> [UInt8]? {
        guard let nonce = try? ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
              let box = try? ChaChaPoly.seal(plaintext, using: SymmetricKey(data: k), nonce: nonce, authenticating: h)
        else { return nil }
        let sealed = Array(box.ciphertext) + Array(box.tag)
        mixHash(sealed)
        return sealed
    }

    /// Opens the handshake payload; nil when it was not sealed under this transcript and key.
    mutating func decryptAndHash(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 16,
              let nonce = try? ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
              let box = try? ChaChaPoly.SealedBox(nonce: nonce, ciphertext: sealed[..<(sealed.count - 16)],
                                                  tag: sealed[(sealed.count - 16)...]),
              let plaintext = try? ChaChaPoly.open(box, using: SymmetricKey(data: k), authenticating: h)
        else { return nil }
        mixHash(sealed)
        return Array(plaintext)
    }

    /// Split(): one key per direction from the final chaining key.
    func split() -> SessionKeys {
        let out = Self.hkdf(ck, [], outputs: 2)
        return SessionKeys(hostToPump: SymmetricKey(data: out[0]), pumpToHost: SymmetricKey(data: out[1]), handshakeHash: h)
    }

    /// The blinded key id: first 16 bytes of HMAC-SHA256(pump key, label || host e || pump e).
    static func keyId(pumpKey: PumpKey, hostEphemeral: [UInt8], pumpEphemeral: [UInt8]) -> [UInt8] {
        keyId(pumpKey: pumpKey, message: keyIdMessage(hostEphemeral: hostEphemeral, pumpEphemeral: pumpEphemeral))
    }

    /// What the key id authenticates; built once when many keys are tried.
    static func keyIdMessage(hostEphemeral: [UInt8], pumpEphemeral: [UInt8]) -> [UInt8] {
        keyIdLabel + hostEphemeral + pumpEphemeral
    }

    static func keyId(pumpKey: PumpKey, message: [UInt8]) -> [UInt8] {
        let code = HMAC<SHA256>.authenticationCode(for: message, using: pumpKey.symmetricKey)
        return Array(Array(code).prefix(OpenSessionReply.keyIdLength))
    }

    /// X25519 of a private key and a peer's public key; nil for an invalid
    /// or low-order public key (an all-zero result is refused).
    static func agree(_ privateKey: Curve25519.KeyAgreement.PrivateKey, _ peer: [UInt8]) -> [UInt8]? {
        guard let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peer),
              let shared = try? privateKey.sharedSecretFromKeyAgreement(with: publicKey)
        else { return nil }
        let bytes = shared.withUnsafeBytes { Array($0) }
        guard bytes.contains(where: { $0 != 0 }) else { return nil }
        return bytes
    }
}

/// Keys of one session: one per direction, from the handshake's Split().
struct SessionKeys: Sendable {
    let hostToPump: SymmetricKey
    let pumpToHost: SymmetricKey
    /// The final transcript hash (for tests and diagnostics; never sent).
    let handshakeHash: [UInt8]

    func key(_ direction: SealDirection) -> SymmetricKey {
        direction == .hostToPump ? hostToPump : pumpToHost
    }
}

/// Which way a sealed message travels; the first byte of the AEAD nonce.
public enum SealDirection: UInt8, Sendable {
    case hostToPump = 0x01
    case pumpToHost = 0x02
}

/// The fixed plaintext sizes of sealed messages (PROTOCOL.md section 7.2).
///
/// Padding: the plaintext, one 0x80 byte, then zero bytes up to the smallest
/// size that holds them all. Removing it: drop trailing zeros, then exactly
/// one 0x80 must end what is left. A padded length that is not one of the
/// sizes, or no 0x80 marker, makes the message invalid. Every request the
/// host sends today fits 64 bytes, so a bolus and an interrogate look alike.
public enum SealPadding {
    public static let sizes = [64, 128, 256, 512, 1024, 2016]

    /// The padded plaintext, or nil when it exceeds the largest size.
    public static func pad(_ plaintext: [UInt8]) -> [UInt8]? {
        guard let size = sizes.first(where: { $0 >= plaintext.count + 1 }) else { return nil }
        return plaintext + [0x80] + [UInt8](repeating: 0, count: size - plaintext.count - 1)
    }

    /// The plaintext inside a padded message, or nil when the padding is not canonical.
    public static func unpad(_ padded: [UInt8]) -> [UInt8]? {
        guard sizes.contains(padded.count), let marker = padded.lastIndex(where: { $0 != 0 }), padded[marker] == 0x80 else {
            return nil
        }
        return Array(padded[..<marker])
    }
}

/// ChaCha20-Poly1305 sealing of pump messages.
///
/// Sealed payload: counter (UInt64 LE, 8) || ciphertext || tag (16).
/// Nonce (12 bytes): direction (1) || 00 00 00 || counter (UInt64 LE).
/// Associated data: the frame header (5 bytes) || session id (UInt32 LE).
/// Plaintext: the message padded by `SealPadding`.
/// A nonce is never reused under one key because each direction has its own
/// key and each direction's counter strictly increases.
///
/// The nonce ends with the counter, so the sealed payload is the AEAD's
/// combined form (nonce || ciphertext || tag) without the nonce's first four
/// bytes: sealing copies once out of it and opening puts them back in
/// front. Nonce, associated data and padded plaintext live in stack
/// buffers; each message costs swift-crypto's own allocations and the one
/// array returned (Tests/WandProtocolTests/SealingFastPathTests compares
/// this with a byte-by-byte construction from the definitions above).
enum SessionCipher {
    static let counterLength = 8
    static let tagLength = 16
    static let overhead = counterLength + tagLength
    /// The nonce bytes before the counter: the direction, then 00 00 00.
    static let noncePrefixLength = 4
    static let nonceLength = noncePrefixLength + counterLength
    static let associatedDataLength = FrameHeader.length + 4

    /// Calls `body` with the nonce and the associated data of one message, built on the stack.
    private static func withNonceAndAssociatedData<R>(
        _ direction: SealDirection, _ counter: UInt64, header: FrameHeader, sessionId: UInt32,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: nonceLength + associatedDataLength) { scratch in
            scratch.initialize(repeating: 0)
            scratch[0] = direction.rawValue
            for shift in 0..<counterLength {
                scratch[noncePrefixLength + shift] = UInt8(truncatingIfNeeded: counter >> UInt64(8 * shift))
            }
            let ad = nonceLength
            scratch[ad] = header.version
            scratch[ad + 1] = header.kind.rawValue
            scratch[ad + 2] = UInt8(truncatingIfNeeded: header.sequence)
            scratch[ad + 3] = UInt8(truncatingIfNeeded: header.sequence >> 8)
            scratch[ad + 4] = header.flags.rawValue
            for shift in 0..<4 {
                scratch[ad + FrameHeader.length + shift] = UInt8(truncatingIfNeeded: sessionId >> UInt32(8 * shift))
            }
            let bytes = UnsafeRawBufferPointer(scratch)
            return body(UnsafeRawBufferPointer(rebasing: bytes[..<nonceLength]),
                        UnsafeRawBufferPointer(rebasing: bytes[nonceLength...]))
        }
    }

    static func seal(_ plaintext: [UInt8], keys: SessionKeys, direction: SealDirection, counter: UInt64,
                     header: FrameHeader, sessionId: UInt32) -> [UInt8]? {
        guard let size = SealPadding.paddedSize(plaintextCount: plaintext.count) else { return nil }
        let key = keys.key(direction)
        return withNonceAndAssociatedData(direction, counter, header: header, sessionId: sessionId) { nonceBytes, ad in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { padded -> [UInt8]? in
                SealPadding.pad(plaintext, into: padded)
                guard let nonce = try? ChaChaPoly.Nonce(data: nonceBytes),
                      let box = try? ChaChaPoly.seal(UnsafeRawBufferPointer(padded), using: key, nonce: nonce,
                                                      authenticating: ad)
                else { return nil }
                let combined = box.combined
                guard combined.count == nonceLength + size + tagLength else { return nil }
                return combined.withUnsafeBytes { Array(UnsafeRawBufferPointer(rebasing: $0[noncePrefixLength...])) }
            }
        }
    }

    /// The counter of a sealed payload, read before authentication (used
    /// only to apply the replay rules; nothing else is trusted yet).
    static func counter(of payload: [UInt8]) -> UInt64? {
        guard payload.count >= overhead else { return nil }
        var counter: UInt64 = 0
        for index in stride(from: counterLength - 1, through: 0, by: -1) { counter = counter << 8 | UInt64(payload[index]) }
        return counter
    }

    /// Opens a sealed payload; nil when it was modified, forged, sealed
    /// under another key, header, session or direction, or padded wrongly.
    /// A ciphertext whose length is none of the padded sizes is refused
    /// before the cipher runs: it could not be valid whatever its tag.
    static func open(_ payload: [UInt8], keys: SessionKeys, direction: SealDirection, header: FrameHeader,
                     sessionId: UInt32) -> (counter: UInt64, plaintext: [UInt8])? {
        guard let counter = counter(of: payload), SealPadding.sizes.contains(payload.count - overhead) else { return nil }
        let key = keys.key(direction)
        return withNonceAndAssociatedData(direction, counter, header: header, sessionId: sessionId) { nonceBytes, ad in
            let combined = [UInt8](unsafeUninitializedCapacity: noncePrefixLength + payload.count) { buffer, count in
                for index in 0..<noncePrefixLength { buffer[index] = nonceBytes[index] }
                _ = UnsafeMutableBufferPointer(rebasing: buffer[noncePrefixLength...]).initialize(from: payload)
                count = noncePrefixLength + payload.count
            }
            guard let box = try? ChaChaPoly.SealedBox(combined: combined),
                  let padded = try? ChaChaPoly.open(box, using: key, authenticating: ad),
                  let plaintext = padded.withUnsafeBytes({ SealPadding.unpad($0) })
            else { return nil }
            return (counter, plaintext)
        }
    }
}
