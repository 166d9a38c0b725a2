// libFuzzer target for every message parser and the pump's session endpoint.
//
// The first input byte selects the parser; the rest is the message. Any
// message that parses must re-encode to exactly the input (the encodings
// are canonical), so a parser that accepts two spellings of one message is
// a finding. The remaining input is also given to a pump session endpoint
// as a frame body, which must never trap.
// In a normal build `Replay.main` replays files named on the command line.
import FuzzSupport
import WandProtocol


func requireCanonical<M: WireMessage>(_ type: M.Type, _ bytes: [UInt8]) {
    guard let message = try? M(decoding: bytes) else { return }
    guard message.encoded == bytes else { fuzzFinding("\(M.self) accepted a non-canonical encoding") }
}

func requireCanonicalFields<M: WireFields>(_ type: M.Type, _ bytes: [UInt8]) {
    guard let message = try? M(decodingFields: bytes) else { return }
    guard message.encodedFields == bytes else { fuzzFinding("\(M.self) accepted a non-canonical encoding") }
}

/// A pump endpoint whose key is fixed and public: fuzzing needs no secret.
let fuzzKey = PumpKey(bytes: [UInt8](repeating: 0x5A, count: 32))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector % 12 {
    case 0: requireCanonical(WandRequest.self, bytes)
    case 1: requireCanonical(WandResponse.self, bytes)
    case 2: requireCanonical(PumpRequest.self, bytes)
    case 3: requireCanonical(PumpReply.self, bytes)
    case 4: requireCanonical(OpenSessionRequest.self, bytes)
    case 5: requireCanonical(OpenSessionReply.self, bytes)
    case 6: requireCanonicalFields(WirePrescription.self, bytes)
    case 7: requireCanonicalFields(InterrogateReport.self, bytes)
    case 8: requireCanonical(NegativeAcknowledgement.self, bytes)
    case 9: requireCanonical(WandEvent.self, bytes)
    case 10:
        if let frame = try? Frame(body: bytes), frame.body != bytes { fuzzFinding("frame header not canonical") }
    default:
        guard let key = fuzzKey else { return 0 }
        var endpoint = PumpSessionEndpoint(serial: "FUZZ-1", key: key, nonces: NonceSource { [UInt8](repeating: 0x33, count: $0) })
        var outcomes = CommandOutcomeStore()
        // A handshake first so sealed frames reach the replay and
        // authentication checks, then the fuzzed frame twice (the second
        // time exercises the retransmission path).
        let open = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x44, count: $0) }).request.encoded
        _ = endpoint.handle(frameBody: open, now: .zero, utcSeconds: 0, outcomes: &outcomes) { .refused($0.opcode, .internalFault) }
        for _ in 0..<2 {
            _ = endpoint.handle(frameBody: bytes, now: .seconds(1), utcSeconds: 0, outcomes: &outcomes) { .refused($0.opcode, .internalFault) }
        }
    }
    return 0
}

#if !FUZZING
/// Normal build: replay the files named on the command line through the
/// target (libFuzzer supplies `main` in the fuzzing build instead).
@main
struct Replay {
    static func main() {
        replayFiles(CommandLine.arguments.dropFirst(), through: fuzzMessageParser)
    }
}
#endif
