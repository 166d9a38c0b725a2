/// The byte layout of the pcapng blocks a PumpWand trace uses (pcapng,
/// draft-ietf-opsawg-pcapng): one Section Header Block, one Interface
/// Description Block, then one Enhanced Packet Block per frame.
///
/// Everything is written little-endian; the byte-order magic in the section
/// header tells readers so. Every block ends with its total length again,
/// so a reader can walk backwards and a truncated last block is detectable.
public enum PcapngBlock {
    /// Block type codes.
    static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let interfaceDescriptionType: UInt32 = 0x0000_0001
    static let enhancedPacketType: UInt32 = 0x0000_0006
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    /// Option codes used here.
    enum OptionCode: UInt16 {
        case endOfOptions = 0
        case comment = 1
        /// shb_userappl in a section header; if_name in an interface description.
        case applicationOrName = 4
        /// if_name (2) and epb_flags (2) share the code in their own blocks.
        case nameOrFlags = 2
        /// if_description.
        case description = 3
    }

    /// LINKTYPE_USER0 (147), the first of the link types reserved for
    /// private use. Wireshark shows such packets as "USER0" unless a
    /// dissector registers for it (hardware/wireshark/pumpwand.lua does).
    public static let linkTypeUser0: UInt16 = 147

    /// A Section Header Block naming the writing application. The section
    /// length is given as -1 (unknown), which is what an incrementally
    /// written file must say.
    public static func sectionHeader(application: String) -> [UInt8] {
        var body = ByteSink()
        body.uint32(byteOrderMagic)
        body.uint16(1)  // major version
        body.uint16(0)  // minor version
        body.uint64(UInt64.max)  // section length: unknown (-1)
        body.options([(.applicationOrName, Array(application.utf8))])
        return block(type: sectionHeaderType, body: body.bytes)
    }

    /// An Interface Description Block for the wand link.
    /// - Parameters:
    ///   - linkType: the LINKTYPE_ value of every packet on this interface.
    ///   - snapLength: the longest packet recorded (0 means no limit).
    ///   - name: if_name, shown by Wireshark as the interface name.
    ///   - description: if_description (for example the tty path or the
    ///     wand's USB serial number).
    public static func interfaceDescription(linkType: UInt16, snapLength: UInt32, name: String, description: String?) -> [UInt8] {
        var body = ByteSink()
        body.uint16(linkType)
        body.uint16(0)  // reserved
        body.uint32(snapLength)
        var options: [(OptionCode, [UInt8])] = [(.nameOrFlags, Array(name.utf8))]
        if let description, !description.isEmpty { options.append((.description, Array(description.utf8))) }
        body.options(options)
        return block(type: interfaceDescriptionType, body: body.bytes)
    }

    /// An Enhanced Packet Block.
    /// - Parameters:
    ///   - interface: the interface's index in the section (0 for the first).
    ///   - timestampMicroseconds: microseconds since 1970-01-01 UTC (the
    ///     default if_tsresol of 10^-6 s).
    ///   - data: the packet; captured and original lengths are both its length.
    ///   - direction: written as epb_flags bits 0-1 when given.
    ///   - comment: an opt_comment when given and not empty.
    public static func enhancedPacket(interface: UInt32, timestampMicroseconds: UInt64, data: [UInt8],
                                      direction: TraceDirection?, comment: String?) -> [UInt8] {
        var body = ByteSink()
        body.uint32(interface)
        body.uint32(UInt32(truncatingIfNeeded: timestampMicroseconds >> 32))
        body.uint32(UInt32(truncatingIfNeeded: timestampMicroseconds))
        body.uint32(UInt32(truncatingIfNeeded: data.count))
        body.uint32(UInt32(truncatingIfNeeded: data.count))
        body.padded(data)
        var options: [(OptionCode, [UInt8])] = []
        if let direction {
            var flags = ByteSink()
            flags.uint32(direction.epbFlags)
            options.append((.nameOrFlags, flags.bytes))
        }
        if let comment, !comment.isEmpty { options.append((.comment, Array(comment.utf8))) }
        body.options(options)
        return block(type: enhancedPacketType, body: body.bytes)
    }

    /// Type, total length, body, total length. The body is already a
    /// multiple of 4 bytes long.
    static func block(type: UInt32, body: [UInt8]) -> [UInt8] {
        let total = UInt32(truncatingIfNeeded: 12 + body.count)
        var sink = ByteSink()
        sink.uint32(type)
        sink.uint32(total)
        sink.bytes.append(contentsOf: body)
        sink.uint32(total)
        return sink.bytes
    }
}

/// Appends little-endian integers and padded fields.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func uint16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func uint32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func uint64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// The bytes, then zeros up to the next multiple of 4.
    mutating func padded(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
        let padding = (4 - data.count % 4) % 4
        bytes.append(contentsOf: repeatElement(0, count: padding))
    }

    /// The options, then opt_endofopt; nothing at all when there are none.
    /// An option value longer than 65 535 bytes is cut there (the length
    /// field is 16 bits); the values written here are short names.
    mutating func options(_ options: [(PcapngBlock.OptionCode, [UInt8])]) {
        guard !options.isEmpty else { return }
        for (code, value) in options {
            let kept = Array(value.prefix(Int(UInt16.max)))
            uint16(code.rawValue)
            uint16(UInt16(kept.count))
            padded(kept)
        }
        uint16(PcapngBlock.OptionCode.endOfOptions.rawValue)
        uint16(0)
    }
}
