import Foundation

/// Finds a key written twice in one JSON object. JSON parsers keep one of
/// the two (which one is not defined), so a file with `"daily_dose"` twice
/// may be reviewed with one figure and programmed with the other: such a
/// file is refused instead.
///
/// A small scanner over the bytes: strings (with their escapes decoded, so
/// `"dr\u0075g"` is `drug`), objects, arrays and scalars. It does not
/// validate JSON (the parser does that afterwards); on anything it does not
/// understand it stops and reports no duplicate. Depth and length are
/// bounded by the 1 MiB file limit and an explicit nesting limit.
public enum JSONDuplicateKeys {
    /// The path of the first key that appears twice in one object
    /// (`patient_bolus.dose`, `steps[1].start`), or nil.
    public static func first(in data: Data) -> String? {
        var scanner = Scanner(bytes: Array(data))
        scanner.skipSpace()
        return scanner.value(path: "", depth: 0)
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 64

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Scans one value; returns the path of a duplicate key inside it.
        /// On malformed input it stops (index at the end) and returns nil.
        mutating func value(path: String, depth: Int) -> String? {
            guard index < bytes.count, depth < Self.maximumDepth else { index = bytes.count; return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var seen = Set<String>()
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return nil }
                while index < bytes.count {
                    skipSpace()
                    guard let key = string() else { index = bytes.count; return nil }
                    let keyPath = path.isEmpty ? key : path + "." + key
                    if !seen.insert(key).inserted { return keyPath }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { index = bytes.count; return nil }
                    index += 1
                    skipSpace()
                    if let found = value(path: keyPath, depth: depth + 1) { return found }
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return nil }
                    index = bytes.count
                    return nil
                }
                return nil
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return nil }
                var element = 0
                while index < bytes.count {
                    skipSpace()
                    if let found = value(path: "\(path)[\(element)]", depth: depth + 1) { return found }
                    element += 1
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return nil }
                    index = bytes.count
                    return nil
                }
                return nil
            case UInt8(ascii: "\""):
                if string() == nil { index = bytes.count }
                return nil
            default:
                // A number, true, false or null: up to the next delimiter.
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]
                    .contains(bytes[index]) { index += 1 }
                return nil
            }
        }

        /// A string at `index`, its escapes decoded; nil when malformed.
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flushRaw() {
                units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16)
                raw.removeAll()
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flushRaw()
                    return String(decoding: units, as: UTF16.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    flushRaw()
                    switch escape {
                    case UInt8(ascii: "\""): units.append(0x22)
                    case UInt8(ascii: "\\"): units.append(0x5C)
                    case UInt8(ascii: "/"): units.append(0x2F)
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0C)
                    case UInt8(ascii: "n"): units.append(0x0A)
                    case UInt8(ascii: "r"): units.append(0x0D)
                    case UInt8(ascii: "t"): units.append(0x09)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                              let unit = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else { return nil }
                        units.append(unit)
                        index += 4
                    default:
                        return nil
                    }
                default:
                    raw.append(byte)
                }
            }
            return nil
        }
    }
}
