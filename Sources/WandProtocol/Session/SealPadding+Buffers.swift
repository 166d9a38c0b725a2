/// The padding of `SealPadding` on buffers, for the session cipher: the
/// same rule without the intermediate arrays of `pad` and `unpad`, which
/// stay as the plain definitions the tests compare these with.
extension SealPadding {
    /// The padded size for a plaintext of `plaintextCount` bytes, or nil when it exceeds the largest size.
    static func paddedSize(plaintextCount: Int) -> Int? {
        sizes.first(where: { $0 > plaintextCount })
    }

    /// Writes the padded plaintext to `padded`, whose count is `paddedSize(plaintextCount: plaintext.count)`.
    static func pad(_ plaintext: [UInt8], into padded: UnsafeMutableBufferPointer<UInt8>) {
        precondition(padded.count > plaintext.count, "the padded size holds the plaintext and its marker")
        var index = UnsafeMutableBufferPointer(rebasing: padded[..<plaintext.count]).initialize(from: plaintext).1
        padded[index] = 0x80
        index += 1
        UnsafeMutableBufferPointer(rebasing: padded[index...]).initialize(repeating: 0)
    }

    /// The plaintext inside padded bytes, or nil when the padding is not canonical.
    static func unpad(_ padded: UnsafeRawBufferPointer) -> [UInt8]? {
        guard sizes.contains(padded.count) else { return nil }
        var end = padded.count
        while end > 0, padded[end - 1] == 0 { end -= 1 }
        guard end > 0, padded[end - 1] == 0x80 else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: padded[..<(end - 1)]))
    }
}
