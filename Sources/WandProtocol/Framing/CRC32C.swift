/// CRC-32C (Castagnoli): polynomial 0x1EDC6F41 (reflected 0x82F63B78),
/// initial value 0xFFFFFFFF, reflected input and output, final XOR 0xFFFFFFFF.
///
/// Chosen over CRC-32 (zlib) because its Hamming distance is better for the
/// frame sizes used here (up to 1 KiB) and it is the checksum of iSCSI and
/// SCTP, so independent implementations are easy to find. Check value for
/// the ASCII string "123456789" is 0xE3069283.
public enum CRC32C {
    /// Byte-wise lookup table, computed once at first use. A table keeps the
    /// cost at one load and one shift per byte without allocating per call.
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = (value & 1) != 0 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1
        }
        return value
    }

    /// Eight tables for "slicing-by-8" (Kounavis and Berry, 2005): table k
    /// holds the CRC of a byte followed by k zero bytes, so eight input bytes
    /// are folded into the register with eight independent loads instead of
    /// eight dependent steps. Same result as the byte-wise loop, which still
    /// handles the tail.
    static let slicingTables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 { tables[index] = table[index] }
        for slice in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var state = Accumulator()
        state.update(bytes)
        return state.value
    }

    /// The CRC-32C of a buffer, without copying it.
    public static func checksum(_ buffer: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var state = Accumulator()
        state.update(buffer)
        return state.value
    }

    /// An incremental CRC, for data that arrives in pieces.
    public struct Accumulator: Sendable {
        private var register: UInt32 = 0xFFFF_FFFF

        /// A fresh accumulator (nothing fed yet).
        public init() {}

        /// Feeds more bytes.
        public mutating func update(_ bytes: some Sequence<UInt8>) {
            if bytes.withContiguousStorageIfAvailable({ update($0) }) != nil { return }
            CRC32C.table.withUnsafeBufferPointer { table in
                for byte in bytes {
                    register = (register >> 8) ^ table[Int((register ^ UInt32(byte)) & 0xFF)]
                }
            }
        }

        /// Feeds a buffer, eight bytes at a time.
        public mutating func update(_ buffer: UnsafeBufferPointer<UInt8>) {
            var crc = register
            let count = buffer.count
            var index = 0
            CRC32C.slicingTables.withUnsafeBufferPointer { tables in
                while index + 8 <= count {
                    let low = crc ^ (UInt32(buffer[index]) | UInt32(buffer[index + 1]) << 8
                        | UInt32(buffer[index + 2]) << 16 | UInt32(buffer[index + 3]) << 24)
                    crc = tables[7 * 256 + Int(low & 0xFF)]
                        ^ tables[6 * 256 + Int((low >> 8) & 0xFF)]
                        ^ tables[5 * 256 + Int((low >> 16) & 0xFF)]
                        ^ tables[4 * 256 + Int(low >> 24)]
                        ^ tables[3 * 256 + Int(buffer[index + 4])]
                        ^ tables[2 * 256 + Int(buffer[index + 5])]
                        ^ tables[1 * 256 + Int(buffer[index + 6])]
                        ^ tables[Int(buffer[index + 7])]
                    index += 8
                }
                while index < count {
                    crc = (crc >> 8) ^ tables[Int((crc ^ UInt32(buffer[index])) & 0xFF)]
                    index += 1
                }
            }
            register = crc
        }

        /// The checksum of everything fed so far.
        public var value: UInt32 { register ^ 0xFFFF_FFFF }
    }
}
