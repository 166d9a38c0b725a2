/// The limits and constants of the byte-stream framing shared by USB bulk and
/// serial links (see `hardware/PROTOCOL.md`, "Framing").
///
/// On the wire a frame is `00 | COBS(body || CRC-32C(body) as UInt32 LE) | 00`.
/// The leading delimiter lets a receiver that joined mid-stream (or saw line
/// noise) resynchronise on the very next frame instead of losing it.
public enum FrameFormat {
    /// The delimiter between frames. COBS guarantees it never occurs inside one.
    public static let delimiter: UInt8 = 0x00

    /// Largest frame body (header plus payload) in bytes. Sized for the
    /// largest pump message (a sealed interrogate report carrying a weekly
    /// flex prescription of 91 steps and the command record, about 1.4 KiB)
    /// with room to spare, and small enough for a wand microcontroller to
    /// buffer twice.
    public static let maximumBodyLength = 2048

    /// Bytes of CRC appended to the body before COBS encoding.
    public static let checksumLength = 4

    /// Largest COBS-encoded frame between delimiters: body and CRC plus one
    /// code byte per started block of 254 bytes.
    public static func maximumEncodedLength(bodyLength: Int) -> Int {
        let raw = bodyLength + checksumLength
        return raw + raw / 254 + 1
    }
}

/// Why a body could not be framed.
public enum FramingError: Error, Equatable, Sendable {
    /// The body is empty; an empty frame carries no header and is never sent.
    case emptyBody
    /// The body is longer than the frame limit; nothing was sent. Split the
    /// data (for example read the event log page by page).
    case bodyTooLong(length: Int, maximum: Int)
}
