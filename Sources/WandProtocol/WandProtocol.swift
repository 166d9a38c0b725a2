/// WandProtocol: the bytes between host, wand and pump.
///
/// COBS framing with CRC-32C, the frame header, one type per message, the
/// authenticated session and exactly-once command ids. Specified in
/// `hardware/PROTOCOL.md`. No I/O here: transports live in `WandLink`.
enum WandProtocolModule {}
