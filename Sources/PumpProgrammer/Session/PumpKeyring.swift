import StateFiles
import SystemPackage
import WandProtocol

/// Where the host finds each pump's secret key.
///
/// Keys come from key files (32 raw bytes, or 64 hex digits), which are
/// refused when group- or world-readable, as ssh refuses private keys. A
/// key is never printed or logged.
public struct PumpKeyring: Sendable {
    private let keys: [String: [UInt8]]
    /// Keys sent to a pump by a re-key whose receipt never came: the pump
    /// may hold either, so the pending one is tried first.
    private let pending: [String: [UInt8]]
    /// Serials whose key came from a DEMO-signed bundle.
    public let demoSerials: Set<String>
    /// Serials whose only keys came from a DEMO-signed bundle and were left
    /// out (no `--allow-demo-keys`): such a pump is refused by name.
    public let demoRefused: Set<String>
    /// A key used for any serial (a single pump's key file).
    private let anySerial: [UInt8]?

    public init(keys: [String: [UInt8]] = [:], pending: [String: [UInt8]] = [:], demoSerials: Set<String> = [],
                demoRefused: Set<String> = [], anySerial: [UInt8]? = nil) {
        self.keys = keys
        self.pending = pending
        self.demoSerials = demoSerials
        self.demoRefused = demoRefused
        self.anySerial = anySerial
    }

    /// Which of a pump's keys opened a session.
    public enum Role: Sendable, Equatable {
        /// The keyring's current key for the serial.
        case current
        /// The pending key of an unacknowledged re-key: the pump has it.
        case pending
        /// A key for any serial (`--key-file`, the simulator's own key).
        case anySerial
    }

    /// Whether `key` is among the keys held (to recognise the published demo key).
    public func holds(_ key: [UInt8]) -> Bool {
        anySerial == key || keys.values.contains(key) || pending.values.contains(key)
    }

    /// Whether the only key is one given for any serial (a `--key-file`):
    /// a pump it does not open is told so, not to import a bundle.
    public var holdsOnlyAKeyFile: Bool { anySerial != nil && keys.isEmpty && pending.isEmpty }

    public var isEmpty: Bool { keys.isEmpty && pending.isEmpty && anySerial == nil && demoRefused.isEmpty }

    /// The first key to try for `serial` (`candidates(for:)`).
    public func key(for serial: String) -> PumpKey? {
        candidates(for: serial).first?.key
    }

    /// Every key that may open a session with `serial`, in the order to try
    /// them: a key for any serial (a key file given for bring-up wins), the
    /// pending key of an unacknowledged re-key, then the current key.
    public func candidates(for serial: String) -> [(key: PumpKey, role: Role)] {
        var result: [(key: PumpKey, role: Role)] = []
        if let bytes = anySerial, let key = PumpKey(bytes: bytes) { result.append((key: key, role: .anySerial)) }
        if let bytes = pending[serial], let key = PumpKey(bytes: bytes) { result.append((key: key, role: .pending)) }
        if let bytes = keys[serial], let key = PumpKey(bytes: bytes) { result.append((key: key, role: .current)) }
        return result
    }

    /// Every (serial, key) pair held, pending keys first for a serial: for
    /// a handshake that identifies the pump by a blinded key id rather than
    /// its serial, where the host tries each key it holds.
    public func allKeys() -> [(serial: String, key: PumpKey)] {
        var result: [(serial: String, key: PumpKey)] = []
        for serial in Set(keys.keys).union(pending.keys).sorted() {
            for candidate in candidates(for: serial) where candidate.role != .anySerial {
                result.append((serial: serial, key: candidate.key))
            }
        }
        return result
    }

    /// Every key held, for the handshake's blinded key id to choose from,
    /// with the role each plays: per-serial keys with their serial (the pump
    /// must then name that serial; a pending re-key's key before the current
    /// one), and the single key file's key for any serial.
    public var handshakeCandidates: [(candidate: PumpKeyCandidate, role: Role)] {
        var result: [(candidate: PumpKeyCandidate, role: Role)] = []
        if let bytes = anySerial, let key = PumpKey(bytes: bytes) {
            result.append((candidate: PumpKeyCandidate(serial: nil, key: key), role: .anySerial))
        }
        for serial in Set(keys.keys).union(pending.keys).sorted() {
            for held in candidates(for: serial) where held.role != .anySerial {
                result.append((candidate: PumpKeyCandidate(serial: serial, key: held.key), role: held.role))
            }
        }
        return result
    }

    /// The keys alone, as the handshake takes them.
    public var candidates: [PumpKeyCandidate] { handshakeCandidates.map(\.candidate) }

    /// Loads one key file for the pump in range.
    ///
    /// The file is opened once, never through a symbolic link and never
    /// waiting on a FIFO, and refused unless the open descriptor shows a
    /// regular file of this user's that no one else can read
    /// (`AtomicFile.readSecret`). Core dumps are turned off before the key
    /// is read, for the rest of the process; the bytes read are wiped once
    /// the key has been copied out of them.
    public static func load(keyFile path: FilePath) throws(ProgrammerError) -> PumpKeyring {
        ProcessGuard.disableCoreDumps()
        do {
            var bytes = try AtomicFile.readSecret(path, limit: 256)
            defer { ProcessGuard.wipe(&bytes) }
            guard let key = keyBytes(in: bytes) else {
                throw ProgrammerError.input("\(path) is not a pump key: expected 32 bytes or 64 hex digits.")
            }
            return PumpKeyring(anySerial: key)
        } catch let error as StateFileError {
            // A file others could read or swap is a permission problem (77),
            // as an unsafe state directory is, not a usage mistake.
            switch error {
            case .unsafeDirectory, .ownedByAnotherUser, .unsafePermissions, .notRegularFile, .notDirectory:
                throw .permissionDenied("The pump key file cannot be used: \(error.description)")
            default:
                throw .input("The pump key file cannot be used: \(error.description)")
            }
        } catch let error as ProgrammerError {
            throw error
        } catch {
            throw .input("The pump key file \(path) cannot be used.")
        }
    }

    /// The key in a key file's bytes: 32 raw bytes, or 64 hex digits with
    /// any whitespace. Decoded byte by byte (never through a `String`, which
    /// could not be wiped) into an array of its own.
    static func keyBytes(in bytes: [UInt8]) -> [UInt8]? {
        if bytes.count == PumpKey.length {
            return [UInt8](unsafeUninitializedCapacity: PumpKey.length) { buffer, count in
                for index in 0..<PumpKey.length { buffer[index] = bytes[index] }
                count = PumpKey.length
            }
        }
        var key = [UInt8](repeating: 0, count: PumpKey.length)
        var digits = 0
        for byte in bytes {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { continue }
            guard digits < PumpKey.length * 2, let value = hexValue(byte) else {
                ProcessGuard.wipe(&key)
                return nil
            }
            key[digits / 2] |= digits % 2 == 0 ? value << 4 : value
            digits += 1
        }
        guard digits == PumpKey.length * 2 else {
            ProcessGuard.wipe(&key)
            return nil
        }
        return key
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
