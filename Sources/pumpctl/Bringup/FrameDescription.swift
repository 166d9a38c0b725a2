import WandProtocol

/// A frame body taken apart for people and scripts: header fields, the
/// decoded message where this host can decode it, and the payload as hex.
/// Sealed pump messages are shown as counter and ciphertext length only;
/// the session keys never leave WandProtocol.
struct FrameDescription: Encodable {
    /// One decoded field, in the order the protocol defines them.
    enum Value: Encodable {
        case number(Int64)
        case text(String)
        case flag(Bool)
        case numbers([Int])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let value): try container.encode(value)
            case .text(let value): try container.encode(value)
            case .flag(let value): try container.encode(value)
            case .numbers(let value): try container.encode(value)
            }
        }

        var text: String {
            switch self {
            case .number(let value): "\(value)"
            case .text(let value): value
            case .flag(let value): value ? "yes" : "no"
            case .numbers(let value): value.map(String.init).joined(separator: ",")
            }
        }
    }

    var kind: String
    var sequence: Int?
    var flags: Int?
    /// What the payload is: "info", "loopback", "nak", "sealed", ...
    var message: String
    var fields: [(String, Value)]
    var hex: String
    /// Why the body could not be parsed, when it could not.
    var problem: String?

    enum CodingKeys: String, CodingKey { case kind, sequence, flags, message, fields, hex, problem }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(flags, forKey: .flags)
        try container.encode(message, forKey: .message)
        var nested = container.nestedContainer(keyedBy: FieldKey.self, forKey: .fields)
        for (name, value) in fields { try nested.encode(value, forKey: FieldKey(name)) }
        try container.encode(hex, forKey: .hex)
        try container.encode(problem, forKey: .problem)
    }

    struct FieldKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// One line: `wand_response seq 1 flags 0x00 info serial=... | 81 01 ...`.
    var line: String {
        var parts = [kind]
        if let sequence { parts.append("seq \(sequence)") }
        if let flags { parts.append("flags \(HexText.byte(UInt8(truncatingIfNeeded: flags)))") }
        parts.append(message)
        parts += fields.map { "\($0.0)=\($0.1.text)" }
        if let problem { parts.append("(\(problem))") }
        return parts.joined(separator: " ") + "  | " + hex
    }

    init(body: [UInt8]) {
        hex = HexText.format(body)
        fields = []
        problem = nil
        let frame: Frame
        do {
            frame = try Frame(body: body)
        } catch {
            kind = body.count > 1 ? "kind_\(HexText.byte(body[1]))" : "unknown"
            sequence = body.count >= 4 ? Int(body[2]) | Int(body[3]) << 8 : nil
            flags = body.count >= 5 ? Int(body[4]) : nil
            message = "unparsed"
            problem = "header: \(error)"
            return
        }
        sequence = Int(frame.header.sequence)
        flags = Int(frame.header.flags.rawValue)
        let payload = frame.payload
        switch frame.header.kind {
        case .wandCommand:
            kind = "wand_command"
            do { (message, fields) = Self.describe(try WandRequest(decoding: payload)) } catch {
                message = "undecoded"; problem = "\(error)"
            }
        case .wandResponse:
            kind = "wand_response"
            do { (message, fields) = Self.describe(try WandResponse(decoding: payload)) } catch {
                message = "undecoded"; problem = "\(error)"
            }
        case .negativeAcknowledgement:
            kind = "nak"
            message = "nak"
            do {
                let nak = try NegativeAcknowledgement(decoding: payload)
                fields = [("reason", .text(Self.name(nak))), ("code", .number(Int64(nak.rawValue))),
                          ("claims_not_transmitted", .flag(nak.claimsNotTransmitted))]
            } catch { problem = "\(error)" }
        case .event:
            kind = "event"
            message = "event"
            do {
                let event = try WandEvent(decoding: payload)
                fields = [("event", .text(Self.name(event))), ("code", .number(Int64(event.rawValue)))]
            } catch { problem = "\(error)" }
        case .pumpMessage:
            kind = "pump_message"
            (message, fields, problem) = Self.describePump(payload, flags: frame.header.flags)
        }
    }

    static func describe(_ request: WandRequest) -> (String, [(String, Value)]) {
        switch request {
        case .info: ("info", [])
        case .linkStatus: ("link_status", [])
        case .linkReset: ("link_reset", [])
        case .loopback(let data): ("loopback", [("length", .number(Int64(data.count)))])
        }
    }

    static func describe(_ response: WandResponse) -> (String, [(String, Value)]) {
        switch response {
        case .info(let info):
            ("info", [("serial", .text(info.serial)),
                      ("firmware", .text("\(info.firmwareMajor).\(info.firmwareMinor).\(info.firmwarePatch)")),
                      ("protocol_versions", .numbers(info.supportedVersions.map(Int.init)))])
        case .linkStatus(let status):
            ("link_status", [("pump_in_range", .flag(status.pumpInRange)),
                             ("signal_quality_percent", .number(Int64(status.signalQualityPercent))),
                             ("crc_errors", .number(Int64(status.crcErrors))), ("retries", .number(Int64(status.retries))),
                             ("frames_relayed", .number(Int64(status.framesRelayed)))])
        case .loopback(let data): ("loopback", [("length", .number(Int64(data.count))), ("data", .text(HexText.format(data)))])
        case .linkReset: ("link_reset", [])
        }
    }

    static func describePump(_ payload: [UInt8], flags: FrameFlags) -> (String, [(String, Value)], String?) {
        if flags.contains(.sealed) {
            // counter (8) | ciphertext | tag (16)
            guard payload.count >= 8 + 16 else { return ("sealed", [], "shorter than a counter and a tag") }
            let counter = (0..<8).reduce(UInt64(0)) { $0 | UInt64(payload[$1]) << (8 * UInt64($1)) }
            return ("sealed", [("counter", .text("\(counter)")), ("ciphertext_length", .number(Int64(payload.count - 24))),
                               ("from_pump", .flag(flags.contains(.fromPump)))], nil)
        }
        if flags.contains(.fromPump) {
            do {
                switch try OpenSessionReply(decoding: payload) {
                case .accepted(let accepted):
                    // v2: the serial and session id are sealed; only the blinded key id shows.
                    let keyId = accepted.keyId.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
                    return ("open_session_reply", [("status", .text("accepted")), ("key_id", .text(keyId))], nil)
                case .refused(let refusal):
                    return ("open_session_reply", [("status", .text("refused")), ("reason", .text("\(refusal)"))], nil)
                }
            } catch { return ("unsealed_from_pump", [], "\(error)") }
        }
        do {
            let request = try OpenSessionRequest(decoding: payload)
            return ("open_session", [("protocol_version", .number(Int64(request.protocolVersion)))], nil)
        } catch { return ("unsealed_to_pump", [], "\(error)") }
    }

    static func name(_ nak: NegativeAcknowledgement) -> String {
        switch nak {
        case .malformedFrame: "malformed_frame"
        case .unsupportedVersion: "unsupported_version"
        case .unknownKind: "unknown_kind"
        case .pumpNotInRange: "pump_not_in_range"
        case .busy: "busy"
        case .noPumpReply: "no_pump_reply"
        case .unknownWandOpcode: "unknown_wand_opcode"
        }
    }

    static func name(_ event: WandEvent) -> String {
        switch event {
        case .pumpEnteredRange: "pump_entered_range"
        case .pumpLeftRange: "pump_left_range"
        case .wandRestarted: "wand_restarted"
        }
    }
}
