import Foundation
import Testing
import TestSupport
@testable import WandLink

/// `hardware/usb-identity.md` is the authoritative identity; `WandIdentity`
/// and the umockdev fixtures must say the same thing.
@Suite(.serialized, .tags(.process), .childProcesses) struct USBIdentityDocumentTests {
    /// The `| Field | Value |` rows of the identity table, keyed by field.
    static func identityTable() throws -> [String: String] {
        var rows: [String: String] = [:]
        for line in try RepositoryFiles.text("hardware/usb-identity.md").split(separator: "\n") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            // "| a | b |" splits into ["", "a", "b", ""].
            guard cells.count == 4, cells[0].isEmpty, cells[3].isEmpty else { continue }
            rows[cells[1]] = cells[2]
        }
        return rows
    }

    /// The leading `0x..` number of a table cell.
    static func hex(_ cell: String?) -> Int? {
        guard let cell, cell.hasPrefix("0x") else { return nil }
        return Int(cell.dropFirst(2).prefix { $0.isHexDigit }, radix: 16)
    }

    @Test func documentStatesTheIdentityInWandIdentity() throws {
        let table = try Self.identityTable()
        #expect(Self.hex(table["Vendor id"]) == Int(WandIdentity.vendorID))
        #expect(Self.hex(table["Product id"]) == Int(WandIdentity.productID))
        #expect(Self.hex(table["Bulk OUT endpoint"]) == Int(WandIdentity.bulkOutEndpoint))
        #expect(Self.hex(table["Bulk IN endpoint"]) == Int(WandIdentity.bulkInEndpoint))
        #expect(table["Max packet size"] == "\(WandIdentity.maxPacketSize)")
        #expect(table["Vendor interface"] == String(format: "%d, class 0x%02X", WandIdentity.vendorInterfaceNumber, WandIdentity.vendorInterfaceClass))
        #expect(table["Product string"] == WandIdentity.productString)
        #expect(table["Manufacturer string"] == WandIdentity.manufacturerString)
    }

    @Test func documentSaysTheProductIdIsAPlaceholder() throws {
        let text = try RepositoryFiles.text("hardware/usb-identity.md")
        #expect(text.contains("Product id 0x0001 is the pid.codes test PID"))
        #expect(text.contains("placeholder"))
    }

    /// Walks the raw descriptors in the fixture the way a host does and
    /// finds the vendor interface's endpoints.
    @Test(arguments: ["wand.umockdev", "two-wands.umockdev"])
    func fixtureDescriptorsCarryTheVendorInterface(fixture: String) throws {
        let text = try RepositoryFiles.text("hardware/umockdev/\(fixture)")
        let wandBlocks = text.components(separatedBy: "\n\n").filter { $0.contains("A: idVendor=1209") }
        #expect(wandBlocks.count == (fixture == "wand.umockdev" ? 1 : 2))
        for block in wandBlocks {
            let line = try #require(block.split(separator: "\n").first { $0.hasPrefix("H: descriptors=") })
            let bytes = try #require(Self.bytes(hex: line.dropFirst("H: descriptors=".count)))
            // Device descriptor: idVendor at 8-9 and idProduct at 10-11, little-endian.
            #expect(bytes.count > 18)
            guard bytes.count > 18 else { continue }
            #expect(UInt16(bytes[8]) | UInt16(bytes[9]) << 8 == WandIdentity.vendorID)
            #expect(UInt16(bytes[10]) | UInt16(bytes[11]) << 8 == WandIdentity.productID)
            let endpoints = Self.endpoints(ofInterfaceClass: WandIdentity.vendorInterfaceClass, in: bytes)
            // Each endpoint: (address, attributes, max packet size).
            #expect(endpoints.map(\.address) == [WandIdentity.bulkOutEndpoint, WandIdentity.bulkInEndpoint])
            #expect(endpoints.allSatisfy { $0.attributes == 0x02 && $0.maxPacket == WandIdentity.maxPacketSize })
        }
    }

    @Test func fixturesAreUpToDateWithTheirGenerator() async throws {
        let python = try Requirements.tool("python3", "the generator check needs it")
        let check = try await ChildProcess.run(python, [RepositoryFiles.path("hardware/umockdev/generate.py"), "--check"])
        #expect(check.status == 0 && !check.signalled, "run python3 hardware/umockdev/generate.py\n\(check)")
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)
            else { return nil }
            result.append(byte)
        }
        return result
    }

    static func endpoints(ofInterfaceClass wanted: UInt8, in bytes: [UInt8])
        -> [(address: UInt8, attributes: UInt8, maxPacket: Int)]
    {
        var found: [(address: UInt8, attributes: UInt8, maxPacket: Int)] = []
        var inWanted = false
        var offset = 0
        while offset + 2 <= bytes.count {
            let length = Int(bytes[offset])
            guard length >= 2, offset + length <= bytes.count else { break }
            switch bytes[offset + 1] {
            case 0x04 where length >= 9:  // interface: class at 5
                inWanted = bytes[offset + 5] == wanted
            case 0x05 where length >= 7 && inWanted:  // endpoint
                found.append((bytes[offset + 2], bytes[offset + 3],
                              Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8))
            default:
                break
            }
            offset += length
        }
        return found
    }
}
