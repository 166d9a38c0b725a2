import Foundation
import Glibc
import StateFiles
import SystemPackage
import WandProtocol

/// One pump's entry in the keyring: its current key, and the key a re-key
/// sent to it whose receipt has not come back (pending).
///
/// The key bytes are the caller's to wipe (`wipe()`) once used.
public struct PumpKeyRecord: Sendable {
    public let serial: String
    public internal(set) var current: [UInt8]
    /// Written before a re-key is sent; made current when its receipt is in.
    public internal(set) var pending: [UInt8]?
    /// When the current key came in: imported, or made current by a re-key (UTC seconds).
    public internal(set) var changedAt: Int64
    /// Where the current key came from: "bundle <id> (<issuer>)" or "re-key".
    public internal(set) var source: String
    /// Imported from a bundle signed by the published DEMO signer.
    public internal(set) var demo: Bool

    public var currentKeyId: String { Rekey.keyIdHex(current) }
    /// Which pinned signer this key's line goes back to, named from the
    /// signer's key and never from a bundle's issuer text (which the signer
    /// writes freely, and anyone can sign with the published DEMO signer).
    /// A key a re-key made keeps the mark of the key it replaced.
    public var signerName: String { demo ? ManufacturerSigner.demo.name : ManufacturerSigner.production.name }
    public var pendingKeyId: String? { pending.map(Rekey.keyIdHex) }

    public mutating func wipe() {
        ProcessGuard.wipe(&current)
        // Moved out first, so the bytes wiped are the record's own.
        if var key = pending.take() { ProcessGuard.wipe(&key) }
    }

    // MARK: File format
    //
    // 0   4   magic "PWKR"
    // 4   1   version 1
    // 5   1   flags: bit 0 DEMO bundle, bit 1 pending key present
    // 6   32  current key
    // 38  32  pending key (zero when absent)
    // 70  8   changed at, UTC seconds (Int64 LE)
    // 78  1+n serial (must match the file name)
    // ..  1+m source, printable ASCII (m <= 120)

    static let magic: [UInt8] = Array("PWKR".utf8)
    static let maximumSourceLength = 120
    static let maximumFileBytes = 512

    func encoded() -> [UInt8] {
        var bytes = Self.magic + [1, (demo ? 1 : 0) | (pending == nil ? 0 : 2)]
        bytes += current
        bytes += pending ?? [UInt8](repeating: 0, count: PumpKey.length)
        bytes += withUnsafeBytes(of: changedAt.littleEndian, Array.init)
        let serialBytes = Array(serial.utf8)
        bytes.append(UInt8(clamping: serialBytes.count))
        bytes += serialBytes
        let sourceBytes = Array(source.utf8.prefix(Self.maximumSourceLength))
        bytes.append(UInt8(clamping: sourceBytes.count))
        bytes += sourceBytes
        return bytes
    }

    /// Decodes a keyring file; nil when it is not one (wrong size, magic,
    /// version, flags, lengths or characters).
    static func decode(_ bytes: [UInt8]) -> PumpKeyRecord? {
        guard bytes.count >= 80, Array(bytes[0..<4]) == magic, bytes[4] == 1, bytes[5] & ~3 == 0 else { return nil }
        let current = Array(bytes[6..<38])
        let pending = bytes[5] & 2 != 0 ? Array(bytes[38..<70]) : nil
        var changed: UInt64 = 0
        for index in 0..<8 { changed |= UInt64(bytes[70 + index]) << (8 * UInt64(index)) }
        var offset = 78
        let serialLength = Int(bytes[offset])
        offset += 1
        guard serialLength <= bytes.count - offset else { return nil }
        guard let serial = PumpKeyStore.checkedSerial(Array(bytes[offset..<offset + serialLength])) else { return nil }
        offset += serialLength
        guard offset < bytes.count else { return nil }
        let sourceLength = Int(bytes[offset])
        offset += 1
        guard sourceLength <= maximumSourceLength, sourceLength == bytes.count - offset else { return nil }
        let source = Array(bytes[offset...])
        guard source.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        guard current.contains(where: { $0 != 0 }), pending.map({ $0.contains { $0 != 0 } }) ?? true else { return nil }
        return PumpKeyRecord(serial: serial, current: current, pending: pending, changedAt: Int64(bitPattern: changed),
                             source: String(decoding: source, as: UTF8.self), demo: bytes[5] & 1 != 0)
    }
}

/// Why the keyring could not be read or changed.
public enum PumpKeyStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The folder or a file failed the state-file checks (link, FIFO,
    /// another user's, group- or world-writable folder, readable by others).
    case file(StateFileError)
    case damaged(path: String)
    case invalidSerial(String)
    case notFound(serial: String)
    /// The keyring already holds a different key for this pump: importing
    /// would throw away a key the pump may be using (after a re-key).
    case conflictingKey(serial: String)
    case tooManyKeys(limit: Int)
    /// A re-key of this pump is unacknowledged: the pump may hold only the
    /// pending key, so removing the entry could lock the implant out.
    case unsettledRekey(serial: String, pendingKeyId: String)
    /// The serial differs from one already held (or another in the same
    /// bundle) only in letter case: on a case-insensitive file system both
    /// would be one file, so one pump's key would replace another's.
    case serialCaseCollision(serial: String, held: String)

    public var description: String {
        switch self {
        case let .file(error): error.description
        case let .damaged(path): "\(path) is not a PumpWand keyring file; it was not used. Check who wrote it."
        case let .invalidSerial(serial): "\(serial.debugDescription) is not a pump serial (1 to 32 letters, digits and '-')."
        case let .notFound(serial): "The keyring holds no key for pump \(serial)."
        case let .conflictingKey(serial):
            "The keyring already holds another key for pump \(serial) (perhaps from a re-key); nothing was imported. Remove it first (pumpctl keys remove \(serial)) only if the pump is known to use the bundle's key."
        case let .tooManyKeys(limit): "The keyring folder holds more than \(limit) entries; it was not read."
        case let .unsettledRekey(serial, pendingKeyId):
            "Pump \(serial) has an unacknowledged re-key to key \(pendingKeyId): the pump may hold only that key, and removing the entry would lock this clinic out of the implant. Hold the wand over the pump and run pumpctl interrogate: the session settles which key the pump holds, and the entry can then be removed."
        case let .serialCaseCollision(serial, held):
            "Pump serial \(serial) differs from \(held) only in letter case; serials are compared without case (a case-insensitive file system would keep both in one file). Check the bundle with the manufacturer."
        }
    }
}

/// The keyring on disk: one private file per pump serial in
/// `<config>/keys/<serial>.key`, in a folder of this user's that no one else
/// can write to, each file opened as the state directory's files are
/// (no links, no FIFOs, this user's, mode 0600, atomic durable writes).
public struct PumpKeyStore: Sendable {
    public let configDirectory: FilePath
    public static let folderName = "keys"
    public static let maximumKeys = 10_000

    public init(configDirectory: FilePath) {
        self.configDirectory = configDirectory
    }

    /// `$PUMPWAND_CONFIG_DIR`, else `$XDG_CONFIG_HOME/pumpwand`, else
    /// `~/.config/pumpwand`; nil when none is set (or not absolute).
    public static func defaultPath(environment: [String: String]) -> FilePath? {
        if let given = environment["PUMPWAND_CONFIG_DIR"], given.hasPrefix("/") { return FilePath(given) }
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") { return FilePath(config).appending("pumpwand") }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return FilePath(home).appending(".config/pumpwand")
    }

    public var folder: FilePath { configDirectory.appending(Self.folderName) }

    /// A pump serial that can name a keyring file: 1 to 32 of A-Z, a-z,
    /// 0-9 and '-', not starting with '-'. Anything else is refused, never mapped.
    public static func checkedSerial(_ bytes: [UInt8]) -> String? {
        guard (1...32).contains(bytes.count), bytes[0] != 0x2D else { return nil }
        guard bytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D })
        else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The serial as compared for uniqueness: ASCII letters folded to upper
    /// case (serials are ASCII by `checkedSerial`).
    public static func foldedSerial(_ serial: String) -> String {
        String(decoding: serial.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    public static func checkedSerial(_ text: String) throws(PumpKeyStoreError) -> String {
        guard let serial = checkedSerial(Array(text.utf8)) else { throw .invalidSerial(text) }
        return serial
    }

    /// The folder, checked (and with `creating`, made 0700); nil when it is missing.
    private func checkedFolder(creating: Bool) throws(PumpKeyStoreError) -> FilePath? {
        do {
            return try StateDirectory(path: configDirectory).subdirectory(Self.folderName, creating: creating)
        } catch {
            throw .file(error)
        }
    }

    private func path(_ serial: String) -> FilePath { folder.appending(serial + ".key") }

    // MARK: Reading

    /// The record for `serial`, nil when there is none.
    public func record(serial: String) throws(PumpKeyStoreError) -> PumpKeyRecord? {
        let serial = try Self.checkedSerial(serial)
        guard try checkedFolder(creating: false) != nil else { return nil }
        let file = path(serial)
        guard AtomicFile.exists(file) else { return nil }
        // Core dumps off before a key is in memory, for the rest of the process.
        _ = ProcessGuard.disableCoreDumps()
        var bytes: [UInt8]
        do { bytes = try AtomicFile.readSecret(file, limit: PumpKeyRecord.maximumFileBytes) } catch { throw .file(error) }
        defer { ProcessGuard.wipe(&bytes) }
        guard let record = PumpKeyRecord.decode(bytes), record.serial == serial else { throw .damaged(path: file.string) }
        return record
    }

    /// Every record, by serial. A damaged or unsafe file stops the read.
    public func records() throws(PumpKeyStoreError) -> [PumpKeyRecord] {
        guard try checkedFolder(creating: false) != nil else { return [] }
        var found: [PumpKeyRecord] = []
        for serial in try serials() {
            if let record = try record(serial: serial) { found.append(record) }
        }
        return found
    }

    /// The keyring the session uses: every current and pending key by
    /// serial. Keys from a DEMO-signed bundle only with `allowDemo`;
    /// without it their serials are named as refused, so the session says
    /// why such a pump is not opened.
    public func keyring(allowDemo: Bool) throws(PumpKeyStoreError) -> PumpKeyring {
        var current: [String: [UInt8]] = [:]
        var pending: [String: [UInt8]] = [:]
        var demoSerials = Set<String>()
        var refused = Set<String>()
        for var record in try records() {
            defer { record.wipe() }
            if record.demo {
                guard allowDemo else {
                    refused.insert(record.serial)
                    continue
                }
                demoSerials.insert(record.serial)
            }
            current[record.serial] = record.current
            if let key = record.pending { pending[record.serial] = key }
        }
        return PumpKeyring(keys: current, pending: pending, demoSerials: demoSerials, demoRefused: refused)
    }

    private func serials() throws(PumpKeyStoreError) -> [String] {
        let fd = open(folder.string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .file(.io(path: folder.string, operation: "open folder", errno: errno)) }
        guard let stream = fdopendir(fd) else {
            let error = errno
            close(fd)
            throw .file(.io(path: folder.string, operation: "read folder", errno: error))
        }
        defer { closedir(stream) }
        var serials: [String] = []
        var entries = 0
        while let entry = readdir(stream) {
            entries += 1
            guard entries <= Self.maximumKeys * 4 else { throw .tooManyKeys(limit: Self.maximumKeys) }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard name.count > 4, Array(name.suffix(4)) == Array(".key".utf8),
                  let serial = Self.checkedSerial(Array(name.dropLast(4))) else { continue }
            serials.append(serial)
        }
        return serials.sorted()
    }

    // MARK: Changing

    private func write(_ record: PumpKeyRecord) throws(PumpKeyStoreError) {
        _ = try checkedFolder(creating: true)
        var bytes = record.encoded()
        defer { ProcessGuard.wipe(&bytes) }
        do { try AtomicFile.write(bytes, to: path(record.serial)) } catch { throw .file(error) }
    }

    /// Imports every key of a verified bundle, or none: every entry is
    /// checked against the keyring first (a different key already held for
    /// a serial refuses the whole bundle), then each is written atomically.
    /// An entry already held with the same key is left as it is, so a
    /// bundle interrupted half-way is completed by importing it again.
    /// Returns the serials written.
    @discardableResult
    public func importBundle(_ bundle: ProvisioningBundle, now: Int64) throws(PumpKeyStoreError) -> [String] {
        var toWrite: [ProvisioningBundle.Entry] = []
        // Serials are one name whatever their case: "ab-1" beside "AB-1"
        // would be one file on a case-insensitive file system.
        var heldByFoldedSerial: [String: String] = [:]
        if try checkedFolder(creating: false) != nil {
            for held in try serials() { heldByFoldedSerial[PumpKeyStore.foldedSerial(held)] = held }
        }
        for entry in bundle.entries {
            if let held = heldByFoldedSerial[PumpKeyStore.foldedSerial(entry.serial)], held != entry.serial {
                throw .serialCaseCollision(serial: entry.serial, held: held)
            }
            if var held = try record(serial: entry.serial) {
                defer { held.wipe() }
                if held.current == entry.key || held.pending == entry.key { continue }
                throw .conflictingKey(serial: entry.serial)
            }
            toWrite.append(entry)
        }
        if toWrite.count + (try records().count) > Self.maximumKeys { throw .tooManyKeys(limit: Self.maximumKeys) }
        // The signer named is the pinned key that verified the bundle; the
        // issuer text is the signer's own words and is labelled as such.
        let source = "bundle \(bundle.bundleId), \(bundle.signer.name) signer, issuer text \"\(bundle.issuer)\""
        for entry in toWrite {
            var record = PumpKeyRecord(serial: entry.serial, current: entry.key, pending: nil, changedAt: now,
                                       source: source, demo: bundle.signer.isDemo)
            defer { record.wipe() }
            try write(record)
        }
        return toWrite.map(\.serial)
    }

    /// Removes the pump's entry; `.notFound` when there is none, and
    /// `.unsettledRekey` while a re-key is unacknowledged (the pump may hold
    /// only the pending key) unless `discardingUnsettledRekey` is given,
    /// which accepts that the pump may be left with no key anyone holds.
    public func remove(serial: String, discardingUnsettledRekey: Bool = false) throws(PumpKeyStoreError) {
        let serial = try Self.checkedSerial(serial)
        guard var held = try record(serial: serial) else { throw .notFound(serial: serial) }
        let pending = held.pendingKeyId
        held.wipe()
        if let pending, !discardingUnsettledRekey { throw .unsettledRekey(serial: serial, pendingKeyId: pending) }
        do { try AtomicFile.remove(path(serial)) } catch { throw .file(error) }
    }

    /// Writes `key` as the pump's pending key, durably, before a re-key is
    /// sent: whatever happens to the reply, the key the pump may now hold
    /// is on disk.
    public func setPending(serial: String, key: [UInt8]) throws(PumpKeyStoreError) {
        guard var record = try record(serial: serial) else { throw .notFound(serial: serial) }
        defer { record.wipe() }
        record.pending = key
        try write(record)
    }

    /// The pump has shown it holds the pending key (its receipt, or a
    /// session opened with it): the pending key becomes current and the
    /// old one is gone from this keyring.
    public func promotePending(serial: String, now: Int64) throws(PumpKeyStoreError) {
        guard var record = try record(serial: serial) else { throw .notFound(serial: serial) }
        defer { record.wipe() }
        guard let key = record.pending else { return }
        record.current = key
        record.pending = nil
        record.changedAt = now
        // A DEMO-keyed pump (wandsim, a bench pump) stays DEMO after a
        // re-key: the new key is secret, but the pump is still not a
        // patient's, and everything that follows from the mark (the
        // SIMULATED banner, simulated audit rows, --allow-demo-keys) stays.
        record.source = record.demo ? "re-key of a DEMO key" : "re-key"
        try write(record)
    }

    /// The pump has shown it still holds the current key (a session opened
    /// with it): the re-key never took effect, so the pending key is dropped.
    public func dropPending(serial: String) throws(PumpKeyStoreError) {
        guard var record = try record(serial: serial) else { throw .notFound(serial: serial) }
        defer { record.wipe() }
        guard record.pending != nil else { return }
        record.pending = nil
        try write(record)
    }
}
