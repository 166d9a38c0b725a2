import PropertyBased
import Testing
@testable import WandProtocol

@Suite("Frame header and wand-level messages")
struct WandMessageTests {
    @Test("Header layout: version, kind, sequence LE, flags")
    func headerVector() throws {
        // 02 = version 2, 03 = pump message, 34 12 = sequence 0x1234 LE,
        // 03 = sealed (01) | fromPump (02), then payload AA BB.
        let body = hex("02 03 34 12 03 AA BB")
        let frame = try Frame(body: body)
        #expect(frame.header == FrameHeader(kind: .pumpMessage, sequence: 0x1234, flags: [.sealed, .fromPump]))
        #expect(frame.payload == [0xAA, 0xBB])
        #expect(frame.body == body)
    }

    @Test("Headers with an unknown version, kind or reserved flag bit are refused")
    func headerRefusals() {
        // Version 1 (the retired handshake) and 3 are both refused.
        #expect(throws: WireError.unsupportedVersion(1)) { try Frame(body: hex("01 01 00 00 00")) }
        #expect(throws: WireError.unsupportedVersion(3)) { try Frame(body: hex("03 01 00 00 00")) }
        #expect(throws: WireError.invalidValue(field: "header.kind", value: 6)) { try Frame(body: hex("02 06 00 00 00")) }
        #expect(throws: WireError.invalidValue(field: "header.flags", value: 8)) { try Frame(body: hex("02 01 00 00 08")) }
        #expect(throws: WireError.truncated(field: "header.flags", needed: 1, available: 0)) { try Frame(body: hex("02 01 00 00")) }
    }

    /// (hex, message) pairs: decoding the hex gives the message and encoding
    /// the message gives the hex.
    static let requestVectors: [(String, WandRequest)] = [
        ("01", .info),
        ("02", .linkStatus),
        ("03 DE AD BE EF", .loopback([0xDE, 0xAD, 0xBE, 0xEF])),
        ("03", .loopback([])),
        ("04", .linkReset),
    ]

    static let responseVectors: [(String, WandResponse)] = [
        // 81 | fw 1.4.2 | serial length 8 "PW-00042" | 1 version: 02
        ("81 01 04 02 08 50 57 2D 30 30 30 34 32 01 02",
         .info(WandInfo(firmwareMajor: 1, firmwareMinor: 4, firmwarePatch: 2, serial: "PW-00042", supportedVersions: [2]))),
        // 82 | in range | 87 % = 0x57 | crc errors 3 | retries 0x0102 | relayed 1000 = 0x3E8
        ("82 01 57 03 00 00 00 02 01 00 00 E8 03 00 00",
         .linkStatus(LinkStatus(pumpInRange: true, signalQualityPercent: 87, crcErrors: 3, retries: 0x0102, framesRelayed: 1000))),
        ("83 DE AD BE EF", .loopback([0xDE, 0xAD, 0xBE, 0xEF])),
        ("84", .linkReset),
    ]

    @Test("Wand request vectors decode and re-encode byte for byte")
    func requestRoundTrip() throws {
        for (text, message) in Self.requestVectors {
            #expect(try WandRequest(decoding: hex(text)) == message)
            #expect(message.encoded == hex(text))
        }
    }

    @Test("Wand response vectors decode and re-encode byte for byte")
    func responseRoundTrip() throws {
        for (text, message) in Self.responseVectors {
            #expect(try WandResponse(decoding: hex(text)) == message)
            #expect(message.encoded == hex(text))
        }
    }

    @Test("NAK and event vectors")
    func nakAndEvent() throws {
        #expect(try NegativeAcknowledgement(decoding: [0x06]) == .noPumpReply)
        #expect(NegativeAcknowledgement.noPumpReply.claimsNotTransmitted == false)
        #expect(NegativeAcknowledgement.pumpNotInRange.claimsNotTransmitted)
        #expect(throws: WireError.invalidValue(field: "nak.reason", value: 0)) { try NegativeAcknowledgement(decoding: [0x00]) }
        #expect(try WandEvent(decoding: [0x02]) == .pumpLeftRange)
        #expect(throws: WireError.trailingBytes(count: 1)) { try WandEvent(decoding: [0x01, 0x00]) }
    }

    @Test("Malformed wand messages are refused with a typed error")
    func malformed() {
        #expect(throws: WireError.unknownOpcode(0x09)) { try WandRequest(decoding: [0x09]) }
        #expect(throws: WireError.trailingBytes(count: 1)) { try WandRequest(decoding: [0x01, 0x00]) }
        // Serial of length 0 is refused.
        #expect(throws: WireError.invalidValue(field: "info.serial.length", value: 0)) {
            try WandResponse(decoding: hex("81 01 04 02 00 01 01"))
        }
        // Serial with a space (0x20) is not printable-without-space ASCII.
        #expect(throws: WireError.invalidValue(field: "info.serial", value: 0x20)) {
            try WandResponse(decoding: hex("81 01 04 02 02 41 20 01 01"))
        }
        // Signal quality above 100 %.
        #expect(throws: WireError.invalidValue(field: "linkStatus.signalQuality", value: 101)) {
            try WandResponse(decoding: hex("82 01 65 00 00 00 00 00 00 00 00 00 00 00 00"))
        }
        // Every truncation of a valid info reply is refused.
        let info = hex("81 01 04 02 08 50 57 2D 30 30 30 34 32 01 01")
        for cut in 0..<info.count {
            #expect(throws: WireError.self) { try WandResponse(decoding: Array(info[0..<cut])) }
        }
    }

    @Test("Property: link status and loopback survive encode and decode")
    func roundTripProperty() async {
        let gen = zip(Gen.bool, Gen.uint8(in: 0...100), Gen.uint32(), Gen.uint32(), Gen.uint32())
            .map { LinkStatus(pumpInRange: $0, signalQualityPercent: $1, crcErrors: $2, retries: $3, framesRelayed: $4) }
        await propertyCheck(input: gen) { status throws in
            #expect(try LinkStatus(decoding: status.encoded) == status)
        }
        await propertyCheck(input: Gen.uint8().array(of: 0...256)) { data throws in
            #expect(try WandRequest(decoding: WandRequest.loopback(data).encoded) == .loopback(data))
            #expect(try WandResponse(decoding: WandResponse.loopback(data).encoded) == .loopback(data))
        }
    }
}
