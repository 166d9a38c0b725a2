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
    /// A key used for any serial (a single pump's key file).
    private let anySerial: [UInt8]?

    public init(keys: [String: [UInt8]] = [:], anySerial: [UInt8]? = nil) {
        self.keys = keys
        self.anySerial = anySerial
    }

    /// Whether `key` is among the keys held (to recognise the published demo key).
    public func holds(_ key: [UInt8]) -> Bool {
        anySerial == key || keys.values.contains(key)
    }

    public func key(for serial: String) -> PumpKey? {
        (keys[serial] ?? anySerial).flatMap { PumpKey(bytes: $0) }
    }

    /// Every key held, for the handshake's blinded key id to choose from:
    /// per-serial keys with their serial (the pump must then name that
    /// serial), and the single key file's key for any serial.
    public var candidates: [PumpKeyCandidate] {
        var result = keys.sorted { $0.key < $1.key }.compactMap { entry in
            PumpKey(bytes: entry.value).map { PumpKeyCandidate(serial: entry.key, key: $0) }
        }
        if let anySerial, let key = PumpKey(bytes: anySerial) { result.append(PumpKeyCandidate(serial: nil, key: key)) }
        return result
    }

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
            throw .input("The pump key file cannot be used: \(error.description)")
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
