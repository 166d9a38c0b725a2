import Foundation
import SystemPackage
import Testing
import TestSupport
@testable import WandTrace

/// The blocks against byte layouts written out by hand from the pcapng
/// specification (all fields little-endian, every block padded to 4 bytes
/// and closed by its total length).
@Suite struct PcapngBlockTests {
    @Test func sectionHeaderMatchesTheHandWrittenLayout() {
        // body: magic 4 + version 2+2 + section length 8 = 16
        //       option shb_userappl (4), length 2, "ab" padded to 4 = 8
        //       opt_endofopt = 4                         -> body 28
        // total = 4 (type) + 4 (length) + 28 + 4 (length again) = 40 = 0x28
        let expected: [UInt8] = [
            0x0A, 0x0D, 0x0D, 0x0A, 0x28, 0x00, 0x00, 0x00,
            0x4D, 0x3C, 0x2B, 0x1A, 0x01, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0x04, 0x00, 0x02, 0x00, 0x61, 0x62, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
            0x28, 0x00, 0x00, 0x00,
        ]
        #expect(PcapngBlock.sectionHeader(application: "ab") == expected)
    }

    @Test func interfaceDescriptionCarriesLinkTypeUser0AndTheName() {
        // body: link type 147 = 0x93 (2), reserved (2), snap length 0 (4) = 8
        //       if_name (2), length 2, "pw" padded = 8; if_description (3),
        //       length 5, "tty/0" padded to 8 = 12; end = 4  -> body 32
        // total = 12 + 32 = 44 = 0x2C
        let expected: [UInt8] = [
            0x01, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00,
            0x93, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x02, 0x00, 0x02, 0x00, 0x70, 0x77, 0x00, 0x00,
            0x03, 0x00, 0x05, 0x00, 0x74, 0x74, 0x79, 0x2F, 0x30, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
            0x2C, 0x00, 0x00, 0x00,
        ]
        #expect(PcapngBlock.interfaceDescription(linkType: 147, snapLength: 0, name: "pw", description: "tty/0") == expected)
    }

    @Test func enhancedPacketHasSplitTimestampPaddingAndDirectionFlags() {
        // timestamp 0x0000_0001_0000_0002 us: high word 1, low word 2.
        // body: interface 4, ts high 4, ts low 4, captured 4, original 4 = 20
        //       data 3 bytes padded to 4 = 4
        //       epb_flags (2), length 4, value 2 (outbound) = 8; end 4  -> body 36
        // total = 12 + 36 = 48 = 0x30
        let expected: [UInt8] = [
            0x06, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
            0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00,
            0x02, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
            0x30, 0x00, 0x00, 0x00,
        ]
        let block = PcapngBlock.enhancedPacket(interface: 0, timestampMicroseconds: 0x1_0000_0002, data: [1, 2, 3],
                                               direction: .outbound, comment: nil)
        #expect(block == expected)
    }

    @Test func inboundFlagsAndCommentOption() {
        // data 4 bytes (no padding); epb_flags value 1 (inbound);
        // opt_comment (1), length 1, "x" padded to 4 = 8; end 4.
        // body 20 + 4 + 8 + 8 + 4 = 44, total 56 = 0x38
        let block = PcapngBlock.enhancedPacket(interface: 0, timestampMicroseconds: 5, data: [9, 8, 7, 6],
                                               direction: .inbound, comment: "x")
        #expect(block.count == 56)
        #expect(Array(block[4..<8]) == [0x38, 0, 0, 0])
        #expect(Array(block[28..<32]) == [9, 8, 7, 6])
        #expect(Array(block[32..<40]) == [0x02, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00])
        #expect(Array(block[40..<48]) == [0x01, 0x00, 0x01, 0x00, 0x78, 0x00, 0x00, 0x00])
        #expect(Array(block[52..<56]) == [0x38, 0, 0, 0])
    }

    @Test func writerPutsHeaderInterfaceAndPacketsInTheFileWithOwnerOnlyMode() throws {
        let pathFolder = try TemporaryDirectory(prefix: "pumpwand-trace")
        defer { pathFolder.remove() }
        let path = pathFolder.file("trace.pcapng")
        var writer = try PcapngWriter(creating: FilePath(path), application: "ab", interfaceName: "pw", interfaceDescription: "tty/0")
        try writer.record([1, 2, 3], timestampMicroseconds: 0x1_0000_0002, direction: .outbound)
        try writer.finish()
        #expect(writer.packetsWritten == 1)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let expected = PcapngBlock.sectionHeader(application: "ab")
            + PcapngBlock.interfaceDescription(linkType: 147, snapLength: 0, name: "pw", description: "tty/0")
            + PcapngBlock.enhancedPacket(interface: 0, timestampMicroseconds: 0x1_0000_0002, data: [1, 2, 3],
                                         direction: .outbound, comment: nil)
        #expect(bytes == expected)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Finished: further records are refused, not silently lost.
        #expect(throws: TraceError.closed(path: path)) {
            try writer.record([1], timestampMicroseconds: 0, direction: .inbound)
        }
    }

    @Test func anUncreatableFileIsATypedError() {
        #expect(throws: TraceError.cannotCreate(path: "/nonexistent-dir/t.pcapng", errno: 2)) {
            _ = try PcapngWriter(creating: "/nonexistent-dir/t.pcapng", application: "a", interfaceName: "b", interfaceDescription: nil)
        }
    }
}
