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
            CRC32C.table.withUnsafeBufferPointer { table in
                for byte in bytes {
                    register = (register >> 8) ^ table[Int((register ^ UInt32(byte)) & 0xFF)]
                }
            }
        }

        /// Feeds a buffer.
        public mutating func update(_ buffer: UnsafeBufferPointer<UInt8>) {
            CRC32C.table.withUnsafeBufferPointer { table in
                for byte in buffer {
                    register = (register >> 8) ^ table[Int((register ^ UInt32(byte)) & 0xFF)]
                }
            }
        }

        /// The checksum of everything fed so far.
        public var value: UInt32 { register ^ 0xFFFF_FFFF }
    }
}
