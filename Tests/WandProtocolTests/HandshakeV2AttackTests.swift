@preconcurrency import Crypto
import Testing
@testable import WandProtocol

/// The attacks an outside review made on the version 1 handshake, each
/// replayed against version 2 and shown to do no harm.
@Suite("Handshake v2: review attacks do no harm")
struct HandshakeV2AttackTests {
    static let bolus = PumpRequest.startBolus(StartBolus(commandId: Fixture.commandId, expiry: Fixture.expiry, kind: .therapeutic, doseNanograms: 100_000,
                                                         volumeNanolitres: 50_000, durationSeconds: 900))

    /// A handshake from someone without the pump key: a fresh ephemeral of their own.
    static func strangerHandshake(sequence: UInt16) -> [UInt8] {
        FrameHeader(kind: .pumpMessage, sequence: sequence).encoded + SessionHandshake().request.encoded
    }

    @Test("A forged open session does not end the session the pump holds")
    func forgedOpenDoesNotEndSession() throws {
        var rig = SessionRig(pumpNonces: .system)
        var host = try rig.openSession()
        let (first, firstCounter) = try host.seal(.readClock(ReadClock()), sequence: 2)
        _ = try host.open(Frame(body: try rig.answer(first)), answering: firstCounter)

        // Anything in radio range can send a handshake: the pump answers it...
        #expect(rig.deliver(Self.strangerHandshake(sequence: 9)) != nil)
        // ...and its "confirmation", sealed under keys it guessed, opens nothing.
        var forged = first
        forged[forged.count - 1] ^= 0x01
        #expect(rig.deliver(forged) == nil)

        // The visit goes on: the bolus is delivered and answered in the old session.
        let (bolus, bolusCounter) = try host.seal(Self.bolus, sequence: 3)
        let reply = try host.open(Frame(body: try rig.answer(bolus)), answering: bolusCounter)
        #expect(reply == .executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000)))
        #expect(rig.executions.count == 2)
        #expect(rig.pump.statistics.sessionsConfirmed == 1)
    }

    @Test("A replayed host handshake and first request do not end or take over the session")
    func replayedHostMessageDoesNotEndSession() throws {
        var rig = SessionRig(pumpNonces: .system)
        let handshake = SessionHandshake()
        let open = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded
        var host = try handshake.complete(replyPayload: Frame(body: try rig.answer(open)).payload, candidates: SessionRig.candidates)
        let (first, firstCounter) = try host.seal(.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry)), sequence: 2)
        _ = try host.open(Frame(body: try rig.answer(first)), answering: firstCounter)
        let (second, secondCounter) = try host.seal(.readClock(ReadClock()), sequence: 3)
        _ = try host.open(Frame(body: try rig.answer(second)), answering: secondCounter)

        // A recorder plays the handshake back, then the host's first sealed request.
        #expect(rig.deliver(open) != nil)  // answered: a new pending handshake with a new pump ephemeral
        #expect(rig.deliver(first) == nil)  // not under the pending keys, and a replay under the current ones
        #expect(rig.executions.count == 2)
        #expect(rig.pump.statistics.replaysRejected == 1)
        #expect(rig.pump.statistics.sessionsConfirmed == 1)

        let (next, nextCounter) = try host.seal(.readClock(ReadClock()), sequence: 4)
        #expect(try host.open(Frame(body: try rig.answer(next)), answering: nextCounter)
                == .clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0)))
    }

    @Test("An unauthenticated refusal (unsupported version) leaves the held session in place")
    func refusalDoesNotEndSession() throws {
        var rig = SessionRig(pumpNonces: .system)
        var host = try rig.openSession()
        let (first, firstCounter) = try host.seal(.readClock(ReadClock()), sequence: 2)
        _ = try host.open(Frame(body: try rig.answer(first)), answering: firstCounter)
        let versionOne = FrameHeader(kind: .pumpMessage, sequence: 3).encoded
            + OpenSessionRequest(protocolVersion: 1, hostEphemeral: SessionHandshake().request.hostEphemeral).encoded
        let refusal = try Frame(body: try rig.answer(versionOne))
        #expect(try OpenSessionReply(decoding: refusal.payload) == .refused(.unsupportedVersion))
        let (next, nextCounter) = try host.seal(.readClock(ReadClock()), sequence: 4)
        #expect(throws: Never.self) { try host.open(Frame(body: try rig.answer(next)), answering: nextCounter) }
    }

    @Test("Re-sending an answered request does not keep a session alive past idle expiry")
    func retransmissionDoesNotExtendIdle() throws {
        var rig = SessionRig(idleTimeout: .seconds(120), pumpNonces: .system)
        var host = try rig.openSession()
        let (first, _) = try host.seal(.readClock(ReadClock()), sequence: 2)
        let reply = try rig.answer(first)  // accepted at t = 0
        rig.now = .seconds(110)
        #expect(rig.deliver(first) == reply)  // answered from cache: the reply was lost, the host asks again
        rig.now = .seconds(121)  // 121 s after the last newly accepted request
        #expect(rig.deliver(first) == nil)
        #expect(rig.pump.statistics.sessionsExpired == 1)
        #expect(rig.pump.statistics.retransmissionsAnswered == 1)
        #expect(rig.pump.hasSession(at: rig.now) == false)
    }

    @Test("A recorded session does not open with the pump key alone: its keys depend on both ephemerals")
    func forwardSecrecy() throws {
        // A pump with fixed ephemerals so the recording can be replayed into a schedule.
        var rig = SessionRig()
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let openRequest = handshake.request
        let replyFrame = try Frame(body: try rig.answer(FrameHeader(kind: .pumpMessage, sequence: 1).encoded + openRequest.encoded))
        var host = try handshake.complete(replyPayload: replyFrame.payload, candidates: SessionRig.candidates)
        let (recorded, _) = try host.seal(Self.bolus, sequence: 2)
        let recordedFrame = try Frame(body: recorded)
        guard case .accepted(let accepted) = try OpenSessionReply(decoding: replyFrame.payload) else {
            Issue.record("expected an accepted handshake")
            return
        }
        let key = try #require(SessionRig.key)

        // The thief holds the pump key and the recording. Every value the
        // public bytes give, put where the ephemeral exchange belongs, fails.
        let guesses: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32), openRequest.hostEphemeral, accepted.pumpEphemeral, key.bytes,
            Array(SHA256.hash(data: openRequest.hostEphemeral + accepted.pumpEphemeral)),
        ]
        for guess in guesses {
            var schedule = HandshakeSchedule(version: 2, hostEphemeral: openRequest.hostEphemeral,
                                             pumpEphemeral: accepted.pumpEphemeral, keyId: accepted.keyId)
            schedule.mixKey(guess)
            schedule.mixKeyAndHash(key.bytes)
            #expect(schedule.decryptAndHash(accepted.sealedPayload) == nil)
            #expect(SessionCipher.open(recordedFrame.payload, keys: schedule.split(), direction: .hostToPump,
                                       header: recordedFrame.header, sessionId: host.sessionId) == nil)
        }
        // With the host's ephemeral private key (gone after a real session) it opens.
        let hostPrivate = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32))
        var schedule = HandshakeSchedule(version: 2, hostEphemeral: openRequest.hostEphemeral,
                                         pumpEphemeral: accepted.pumpEphemeral, keyId: accepted.keyId)
        schedule.mixKey(try #require(HandshakeSchedule.agree(hostPrivate, accepted.pumpEphemeral)))
        schedule.mixKeyAndHash(key.bytes)
        #expect(schedule.decryptAndHash(accepted.sealedPayload) != nil)
        let opened = SessionCipher.open(recordedFrame.payload, keys: schedule.split(), direction: .hostToPump,
                                        header: recordedFrame.header, sessionId: host.sessionId)
        #expect(opened?.plaintext == Self.bolus.encoded)

        // Same pump key, same host ephemeral, another pump ephemeral: other keys.
        var other = SessionRig(pumpNonces: .system)
        let otherReply = try Frame(body: try other.answer(FrameHeader(kind: .pumpMessage, sequence: 1).encoded + openRequest.encoded))
        let otherHost = try handshake.complete(replyPayload: otherReply.payload, candidates: SessionRig.candidates)
        #expect(otherHost.keys.hostToPump != host.keys.hostToPump)
        #expect(otherHost.keys.pumpToHost != host.keys.pumpToHost)
    }

    @Test("A bolus and an interrogate seal to frames of the same length")
    func bolusAndInterrogateSameLength() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (bolus, _) = try host.seal(Self.bolus, sequence: 2)
        let (interrogate, _) = try host.seal(.interrogate(InterrogateRequest()), sequence: 3)
        let (stop, _) = try host.seal(.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry)), sequence: 4)
        #expect(bolus.count == interrogate.count)
        #expect(stop.count == interrogate.count)
        // Header 5, counter 8, one 64-byte padded plaintext, tag 16.
        #expect(bolus.count == 5 + 8 + 64 + 16)
        // Their receipts (no report) look alike too.
        let bolusReply = try rig.answer(bolus)
        let stopReply = try rig.answer(stop)
        #expect(bolusReply.count == stopReply.count)
    }

    @Test("Padding is one 0x80 then zeros to a fixed size; anything else does not open")
    func paddingRule() throws {
        #expect(SealPadding.pad([]) == [0x80] + [UInt8](repeating: 0, count: 63))
        #expect(SealPadding.pad([UInt8](repeating: 7, count: 63))?.count == 64)
        #expect(SealPadding.pad([UInt8](repeating: 7, count: 64))?.count == 128)
        #expect(SealPadding.pad([UInt8](repeating: 7, count: 2015))?.count == 2016)
        #expect(SealPadding.pad([UInt8](repeating: 7, count: 2016)) == nil)
        // Trailing zeros of the message itself survive: the marker sits after them.
        #expect(SealPadding.unpad(try #require(SealPadding.pad([1, 0, 0]))) == [1, 0, 0])
        #expect(SealPadding.unpad([UInt8](repeating: 0, count: 64)) == nil)
        #expect(SealPadding.unpad([1] + [UInt8](repeating: 0, count: 63)) == nil)
        #expect(SealPadding.unpad([0x80] + [UInt8](repeating: 0, count: 62)) == nil)  // 63 is no size
    }

    @Test("The pump serial is in no frame of a whole session, in either direction")
    func serialNeverInClear() throws {
        var rig = SessionRig(pumpNonces: .system)
        var bodies: [[UInt8]] = []
        let handshake = SessionHandshake()
        let open = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded
        let openReply = try rig.answer(open)
        bodies += [open, openReply]
        var host = try handshake.complete(replyPayload: Frame(body: openReply).payload, candidates: SessionRig.candidates)
        #expect(host.pumpSerial == SessionRig.serial)  // it was there, sealed
        for (index, request) in [PumpRequest.interrogate(InterrogateRequest()), Self.bolus, .closeSession(CloseSession())].enumerated() {
            let (body, _) = try host.seal(request, sequence: UInt16(index + 2))
            bodies += [body, try rig.answer(body)]
        }
        let serial = Array(SessionRig.serial.utf8)
        for body in bodies {
            let wire = try FrameEncoder.encode(body)
            for bytes in [body, wire] {
                #expect(!(0...(bytes.count - serial.count)).contains { Array(bytes[$0..<($0 + serial.count)]) == serial })
            }
        }
    }

    @Test("The key id is blinded: two handshakes with one pump show unrelated key ids")
    func keyIdUnlinkable() throws {
        var rig = SessionRig(pumpNonces: .system)
        var ids: [[UInt8]] = []
        for sequence in UInt16(1)...2 {
            let body = FrameHeader(kind: .pumpMessage, sequence: sequence).encoded + SessionHandshake().request.encoded
            guard case .accepted(let accepted) = try OpenSessionReply(decoding: Frame(body: try rig.answer(body)).payload) else {
                Issue.record("expected an accepted handshake")
                return
            }
            ids.append(accepted.keyId)
        }
        #expect(ids[0] != ids[1])
    }

    @Test("Every single-bit flip of the handshake reply is rejected by the host")
    func everyReplyBitFlipRejected() throws {
        var rig = SessionRig()
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let reply = try Frame(body: try rig.answer(FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded))
        #expect(throws: Never.self) { try handshake.complete(replyPayload: reply.payload, candidates: SessionRig.candidates) }
        var accepted = 0
        for index in 0..<reply.payload.count {
            for bit in 0..<8 {
                var flipped = reply.payload
                flipped[index] ^= UInt8(1) << UInt8(bit)
                if (try? handshake.complete(replyPayload: flipped, candidates: SessionRig.candidates)) != nil { accepted += 1 }
            }
        }
        #expect(accepted == 0)
    }

    @Test("A low-order host ephemeral (all zeros) gets no reply and leaves the session alone")
    func lowOrderEphemeralDropped() throws {
        var rig = SessionRig(pumpNonces: .system)
        var host = try rig.openSession()
        let zero = FrameHeader(kind: .pumpMessage, sequence: 5).encoded
            + OpenSessionRequest(hostEphemeral: [UInt8](repeating: 0, count: 32)).encoded
        #expect(rig.deliver(zero) == nil)
        #expect(rig.pump.statistics.framesIgnored == 1)
        let (next, nextCounter) = try host.seal(.readClock(ReadClock()), sequence: 6)
        #expect(throws: Never.self) { try host.open(Frame(body: try rig.answer(next)), answering: nextCounter) }
    }

    @Test("The handshake payload decodes only with every field in range and zero padding")
    func handshakePayloadRanges() throws {
        let good = HandshakePayload(pumpSerial: "SP-12345", sessionId: 7, pumpUTCSeconds: 1_700_000_000, idleTimeoutSeconds: 120)
        #expect(good.encoded.count == HandshakePayload.length)
        #expect(try HandshakePayload(decoding: good.encoded) == good)
        var noSerial = good.encoded
        noSerial[0] = 0
        #expect(throws: WireError.invalidValue(field: "handshake.serial.length", value: 0)) { try HandshakePayload(decoding: noSerial) }
        var dirtyPadding = good.encoded
        dirtyPadding[1 + 8] = 0x41
        #expect(throws: WireError.invalidValue(field: "handshake.serial.padding", value: 0x41)) {
            try HandshakePayload(decoding: dirtyPadding)
        }
        var control = good.encoded
        control[1] = 0x0A
        #expect(throws: WireError.invalidValue(field: "handshake.serial", value: 0x0A)) { try HandshakePayload(decoding: control) }
        let lateClock = HandshakePayload(pumpSerial: "SP-1", sessionId: 0, pumpUTCSeconds: WireTime.maximumUTCSeconds + 1, idleTimeoutSeconds: 120)
        #expect(throws: WireError.invalidValue(field: "handshake.pumpClock", value: WireTime.maximumUTCSeconds + 1)) {
            try HandshakePayload(decoding: lateClock.encoded)
        }
        let noTimeout = HandshakePayload(pumpSerial: "SP-1", sessionId: 0, pumpUTCSeconds: 0, idleTimeoutSeconds: 0)
        #expect(throws: WireError.invalidValue(field: "handshake.idleTimeout", value: 0)) { try HandshakePayload(decoding: noTimeout.encoded) }
        #expect(throws: WireError.trailingBytes(count: 1)) { try HandshakePayload(decoding: good.encoded + [0]) }
    }

    @Test("A handshake reply corrupted past the CRC is retried with fresh ephemerals, not a fault")
    func corruptedHandshakeReplyRetried() async throws {
        let link = CorruptingPumpLink(corruptHandshakeReplies: 1)
        let channel = WandChannel(link: link, policy: RetryPolicy(attemptTimeout: .milliseconds(1), maximumAttempts: 1))
        let opened = await channel.openSession(candidates: SessionRig.candidates)
        guard case .success(let session) = opened else {
            Issue.record("expected a session after one retry, got \(opened)")
            return
        }
        #expect(session.pumpSerial == SessionRig.serial)
        #expect(await channel.statistics.handshakesRejected == 1)
        #expect(await link.handshakesSeen == 2)
        // Fresh ephemerals for the retry: the two host messages differ beyond the sequence.
        let sent = await link.handshakeBodies
        #expect(Array(sent[0].dropFirst(5)) != Array(sent[1].dropFirst(5)))
        let result = await channel.send(.readClock(ReadClock()))
        #expect(result == .completed(.clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0))))
    }

    @Test("Two corrupted handshake replies in a row: rejected with the reason, one retry only")
    func corruptedTwiceRejected() async throws {
        let link = CorruptingPumpLink(corruptHandshakeReplies: 2)
        let channel = WandChannel(link: link, policy: RetryPolicy(attemptTimeout: .milliseconds(1), maximumAttempts: 1))
        let opened = await channel.openSession(candidates: SessionRig.candidates)
        guard case .failure(.rejected(.confirmationFailed)) = opened else {
            Issue.record("expected a failed confirmation, got \(opened)")
            return
        }
        #expect(await link.handshakesSeen == 2)
        #expect(await channel.pumpSession == nil)
    }
}

/// A pump behind a link that flips one bit inside the sealed payload of the
/// first `corruptHandshakeReplies` handshake replies and frames them again
/// with a valid CRC: corruption the CRC cannot see.
actor CorruptingPumpLink: FrameLink {
    private var rig = SessionRig(pumpNonces: .system)
    private var decoder = FrameDecoder()
    private var queued: [[UInt8]] = []
    private let corruptHandshakeReplies: Int
    private(set) var handshakesSeen = 0
    private(set) var handshakeBodies: [[UInt8]] = []

    init(corruptHandshakeReplies: Int) { self.corruptHandshakeReplies = corruptHandshakeReplies }

    func send(_ bytes: [UInt8]) async throws {
        for body in decoder.feed(bytes) {
            let isHandshake = (try? Frame(body: body))?.header.flags.contains(.sealed) == false
            var pump = rig
            guard var reply = pump.deliver(body) else { rig = pump; continue }
            rig = pump
            if isHandshake {
                handshakesSeen += 1
                handshakeBodies.append(body)
                if handshakesSeen <= corruptHandshakeReplies { reply[reply.count - 20] ^= 0x04 }
            }
            queued.append(try FrameEncoder.encode(reply))
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        queued.isEmpty ? nil : queued.removeFirst()
    }
}
