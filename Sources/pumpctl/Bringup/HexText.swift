/// Hex as firmware engineers type and read it: `01 02 0a`, `01020A`,
/// `01:02:0a`, `0x01 0x02` are all accepted; output is lowercase pairs
/// separated by spaces.
enum HexText {
    /// Why typed hex was refused. Nothing is sent when parsing fails.
    enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case invalidCharacter(Character, position: Int)
        case oddDigitCount(Int)
        case tooLong(bytes: Int, maximum: Int)

        var description: String {
            switch self {
            case .empty:
                return "No bytes given: write them as hex, e.g. 02 01 01 00 00 01."
            case let .invalidCharacter(character, position):
                return "'\(character)' at position \(position) is not a hex digit (use 0-9, a-f; spaces, ':' and '-' may separate bytes). Nothing was sent."
            case let .oddDigitCount(count):
                return "\(count) hex digits do not make whole bytes: every byte needs two digits (write 0a, not a). Nothing was sent."
            case let .tooLong(bytes, maximum):
                return "\(bytes) bytes is more than the \(maximum) this command sends at once. Nothing was sent."
            }
        }
    }

    /// Parses the words of the command line as one run of bytes.
    static func parse(_ words: [String], maximum: Int) throws(ParseError) -> [UInt8] {
        var digits: [UInt8] = []
        var position = 0
        for word in words {
            var text = Substring(word)
            // One 0x prefix per word, as in `0x01 0x02`.
            if text.hasPrefix("0x") || text.hasPrefix("0X") {
                text = text.dropFirst(2)
                position += 2
            }
            for character in text {
                position += 1
                if character == " " || character == ":" || character == "-" || character == "\t" || character == "," { continue }
                guard let value = character.hexDigitValue, character.isASCII else {
                    throw .invalidCharacter(character, position: position)
                }
                digits.append(UInt8(value))
                // Refuse early so a huge argument is never held twice.
                if digits.count > maximum * 2 + 1 { throw .tooLong(bytes: digits.count / 2, maximum: maximum) }
            }
            position += 1
        }
        guard !digits.isEmpty else { throw .empty }
        guard digits.count % 2 == 0 else { throw .oddDigitCount(digits.count) }
        let bytes = stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
        guard bytes.count <= maximum else { throw .tooLong(bytes: bytes.count, maximum: maximum) }
        return bytes
    }

    static func byte(_ value: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(value >> 4)]) + String(digits[Int(value & 0x0F)])
    }

    /// `01 02 0a`.
    static func format(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return bytes.map { String(digits[Int($0 >> 4)]) + String(digits[Int($0 & 0x0F)]) }.joined(separator: " ")
    }
}
