/// A group of fields with a fixed layout, read from and written to a larger
/// message (a prescription inside a stage request, a receipt inside a reply).
public protocol WireFields: Sendable, Equatable {
    /// Reads the fields, checking each against its documented range.
    init(reading reader: inout ByteReader) throws(WireError)
    /// Writes the canonical encoding of the fields.
    func write(to writer: inout ByteWriter)
}

extension WireFields {
    /// Decodes exactly these bytes as the fields (no trailing bytes allowed).
    public init(decodingFields bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try self.init(reading: &reader)
        try reader.finish()
    }

    /// The canonical encoding of the fields alone.
    public var encodedFields: [UInt8] {
        var writer = ByteWriter()
        write(to: &writer)
        return writer.bytes
    }
}
