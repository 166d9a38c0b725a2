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

    /// Loads one key file for the pump in range.
    public static func load(keyFile path: FilePath) throws(ProgrammerError) -> PumpKeyring {
        do {
            try AtomicFile.requirePrivate(path)
            let bytes = try AtomicFile.read(path, limit: 256)
            if bytes.count == PumpKey.length { return PumpKeyring(anySerial: bytes) }
            let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            guard text.utf8.count == PumpKey.length * 2, let decoded = decodeHex(text) else {
                throw ProgrammerError.input("\(path) is not a pump key: expected 32 bytes or 64 hex digits.")
            }
            return PumpKeyring(anySerial: decoded)
        } catch let error as StateFileError {
            throw .input("The pump key file cannot be used: \(error.description)")
        } catch let error as ProgrammerError {
            throw error
        } catch {
            throw .input("The pump key file \(path) cannot be used.")
        }
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let value = UInt8(String([high, low]), radix: 16) else { return nil }
            bytes.append(value)
        }
        return bytes
    }
}
