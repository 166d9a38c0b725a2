@preconcurrency import Crypto

/// Give the pump a new long-term key for the sessions after this one.
///
/// The current session keeps its session keys to the end: only the next
/// handshake uses the new key. This is how a clinic revokes a lost or
/// stolen laptop: once the pump holds a key the laptop never had, the old
/// key opens nothing. State-changing (exactly-once under its command id);
/// answered with a command receipt (reply `0x95`). The pump logs event
/// 0x0090 `keyChanged` with the new key's id, never the key.
/// ```
/// 0   1   opcode 0x15
/// 1   16  command id
/// 17  8   expiry (pump UTC seconds, `RequestExpiry`)
/// 25  32  the new pump key (any 32 bytes except all zero)
/// ```
public struct Rekey: StateChangingRequest, CustomStringConvertible {
    public static let opcode = PumpOpcode.rekey
    public var commandId: CommandID
    public var expiry: RequestExpiry
    /// The new key's bytes, 32. Redacted from `description`.
    public var newKey: [UInt8]

    /// A re-key request; nil unless `newKey` is 32 bytes and not all zero
    /// (a zeroed buffer is what a failed generator or a wiped key leaves).
    public init?(commandId: CommandID, expiry: RequestExpiry, newKey: [UInt8]) {
        guard Self.isUsableKey(newKey) else { return nil }
        self.commandId = commandId
        self.expiry = expiry
        self.newKey = newKey
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        newKey = try reader.bytes(PumpKey.length, "rekey.newKey")
        guard Self.isUsableKey(newKey) else { throw .invalidValue(field: "rekey.newKey", value: 0) }
    }

    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        writer.bytes(newKey)
    }

    public var description: String { "Rekey(commandId: \(commandId), expiry: \(expiry), newKey: redacted, keyId: \(Self.keyIdHex(newKey)))" }

    static func isUsableKey(_ key: [UInt8]) -> Bool {
        key.count == PumpKey.length && key.contains { $0 != 0 }
    }

    /// The key id the pump logs and the host lists: the first 4 bytes of
    /// SHA-256("PumpWand key id v1" || key). It names a key without
    /// revealing it (the hash is one-way and the key is 256 random bits).
    public static func keyId(_ key: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array("PumpWand key id v1".utf8))
        hasher.update(data: key)
        let digest = Array(hasher.finalize())
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// `keyId` as 8 hex digits, as printed by `pumpctl keys list`.
    public static func keyIdHex(_ key: [UInt8]) -> String {
        let text = String(keyId(key), radix: 16)
        return String(repeating: "0", count: 8 - text.count) + text
    }
}
