import Foundation

/// The hex blocks of hardware/PROTOCOL.md, as the tests compare them with
/// this implementation: a block follows a marker line `<!-- example: NAME -->`
/// (a whole frame) or `<!-- plaintext example: NAME -->` (a message before
/// sealing), both written by scripts/update_protocol_examples.py.
enum ProtocolDocument {
    static func blocks(marked marker: String) throws -> [String: [UInt8]] {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("hardware/PROTOCOL.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var result: [String: [UInt8]] = [:]
        var rest = Substring(text)
        while let start = rest.range(of: "<!-- \(marker): ") {
            rest = rest[start.upperBound...]
            guard let nameEnd = rest.range(of: " -->") else { break }
            let name = String(rest[..<nameEnd.lowerBound])
            guard let open = rest.range(of: "```hex\n"), let close = rest[open.upperBound...].range(of: "```") else { break }
            result[name] = hex(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return result
    }
}
