@preconcurrency import Crypto
import Foundation

/// Keys of one session, derived from the pump key and both nonces.
///
/// HKDF-SHA256 with
///   IKM  = the 32-byte pump key
///   salt = host nonce (32) || pump nonce (32)
///   info = "PumpWand session v1" || serial length (1) || serial || session id (UInt32 LE)
///   L    = 64 bytes: seal key = bytes 0..<32, confirm key = bytes 32..<64
/// Fresh nonces from both sides make every session's keys new even if one
/// side's generator repeats.
struct SessionKeys: Sendable {
    let sealKey: SymmetricKey
    let confirmKey: SymmetricKey

    static let infoLabel = Array("PumpWand session v1".utf8)
    static let confirmLabel = Array("PumpWand pump confirm v1".utf8)

    init(pumpKey: PumpKey, hostNonce: [UInt8], pumpNonce: [UInt8], serial: String, sessionId: UInt32) {
        var info = ByteWriter()
        info.bytes(Self.infoLabel)
        writeSerial(serial, &info)
        info.uint32(sessionId)
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: pumpKey.symmetricKey, salt: hostNonce + pumpNonce, info: info.bytes, outputByteCount: 64)
        let bytes = derived.withUnsafeBytes { Array($0) }
        sealKey = SymmetricKey(data: bytes[0..<32])
        confirmKey = SymmetricKey(data: bytes[32..<64])
    }

    /// The pump's proof that it holds the pump key.
    func confirmation(request: [UInt8], replyPrefix: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.confirmLabel + request + replyPrefix, using: confirmKey))
    }

    /// Checks a confirmation in constant time.
    func isValidConfirmation(_ code: [UInt8], request: [UInt8], replyPrefix: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.confirmLabel + request + replyPrefix, using: confirmKey)
    }
}

/// Which way a sealed message travels; the first byte of the AEAD nonce.
public enum SealDirection: UInt8, Sendable {
    case hostToPump = 0x01
    case pumpToHost = 0x02
}

/// ChaCha20-Poly1305 sealing of pump messages.
///
/// Sealed payload: counter (UInt64 LE, 8) || ciphertext || tag (16).
/// Nonce (12 bytes): direction (1) || 00 00 00 || counter (UInt64 LE).
/// Associated data: the frame header (5 bytes) || session id (UInt32 LE).
/// A nonce is never reused under one key because each direction's counter
/// strictly increases and the directions differ in the first byte.
enum SessionCipher {
    static let counterLength = 8
    static let tagLength = 16
    static let overhead = counterLength + tagLength

    static func nonce(_ direction: SealDirection, _ counter: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.uint8(direction.rawValue)
        writer.bytes([0, 0, 0])
        writer.uint64(counter)
        return writer.bytes
    }

    static func associatedData(header: FrameHeader, sessionId: UInt32) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(header.encoded)
        writer.uint32(sessionId)
        return writer.bytes
    }

    static func seal(_ plaintext: [UInt8], key: SymmetricKey, direction: SealDirection, counter: UInt64,
                     header: FrameHeader, sessionId: UInt32) -> [UInt8]? {
        guard let nonce = try? ChaChaPoly.Nonce(data: nonce(direction, counter)),
              let box = try? ChaChaPoly.seal(plaintext, using: key, nonce: nonce,
                                              authenticating: associatedData(header: header, sessionId: sessionId))
        else { return nil }
        var writer = ByteWriter()
        writer.uint64(counter)
        writer.bytes(box.ciphertext)
        writer.bytes(box.tag)
        return writer.bytes
    }

    /// The counter of a sealed payload, read before authentication (used
    /// only to apply the replay rules; nothing else is trusted yet).
    static func counter(of payload: [UInt8]) -> UInt64? {
        guard payload.count >= overhead else { return nil }
        var reader = ByteReader(payload)
        return try? reader.uint64("counter")
    }

    /// Opens a sealed payload; nil when it was modified, forged or sealed
    /// under another key, header, session or direction.
    static func open(_ payload: [UInt8], key: SymmetricKey, direction: SealDirection, header: FrameHeader,
                     sessionId: UInt32) -> (counter: UInt64, plaintext: [UInt8])? {
        guard let counter = counter(of: payload),
              let nonce = try? ChaChaPoly.Nonce(data: nonce(direction, counter)),
              let box = try? ChaChaPoly.SealedBox(
                  nonce: nonce, ciphertext: payload[counterLength..<(payload.count - tagLength)],
                  tag: payload[(payload.count - tagLength)...]),
              let plaintext = try? ChaChaPoly.open(box, using: key,
                                                   authenticating: associatedData(header: header, sessionId: sessionId))
        else { return nil }
        return (counter, Array(plaintext))
    }
}
