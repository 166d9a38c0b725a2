import Therapy
import WandProtocol

/// The simulated wand with the simulated pump in range: the far side of
/// the real protocol, byte for byte.
///
/// Bytes from the host go through the same framing, header, session and
/// sealing code a real wand and pump would run; the wand answers its own
/// commands and relays pump messages over a modelled radio link, where
/// frames can be delayed, lost, corrupted or duplicated, and where injected
/// faults act. The pump's clock follows the host's plus `clockOffset`, so
/// between commands it keeps infusing as a real pump would.
public struct PumpSimulation: Sendable {
    /// The simulated wand's own identity.
    public static let wandSerial = "PW1-900001"
    public static let wandFirmware: [UInt8] = [1, 0, 0]

    public var pump: SimulatedPump
    public var link: LinkModel
    var generator: SeededGenerator
    public private(set) var pendingFaults: [Fault]
    public private(set) var clockOffset: Int64
    public private(set) var rejected: RejectionCounters
    /// Nil only for a pump whose key is not a usable key: it answers nothing.
    private var endpoint: PumpSessionEndpoint?
    /// The long-term key `endpoint` was made with: a re-key changes the
    /// identity's key at once, the endpoint's at the next handshake.
    private var endpointKey: [UInt8]
    private var decoder = FrameDecoder()
    private var countedDecoderDrops = 0
    private var countedEndpoint = PumpSessionEndpoint.Statistics()
    private var framesRelayed: UInt32 = 0
    /// The wand's link counters count from the last link reset (or the
    /// wand's start): these are the totals at that moment.
    private var linkCountersFrom = (badFrames: 0, retries: 0)
    /// The link time of the request being answered (latency plus its bytes
    /// at the link's rate), added to each reply's own.
    private var requestTransitMilliseconds = 0

    /// Pump messages the wand has relayed so far (in this process): a
    /// server saves the state whenever this moves, because the pump may
    /// have changed.
    public var relayedMessageCount: UInt32 { framesRelayed }

    /// A frame for the host and how long the link holds it first.
    public struct Outgoing: Sendable, Equatable {
        public var bytes: [UInt8]
        public var delayMilliseconds: Int
    }

    // MARK: Creating

    /// A pump as after a routine visit: baclofen 2000 mcg/mL, 400 mcg/day
    /// continuous (0.2 mL/day), 12 mL in the reservoir, alarm at 2 mL, a
    /// 100 cm catheter (0.26 mL) behind a 0.2 mL internal pathway, no alarms.
    public static func fresh(profile: PumpProfile = .rp20, seed: UInt64 = 1, hostNow: Int64,
                             link: LinkModel = .perfect) -> PumpSimulation {
        let identity = PumpIdentity.demo(model: profile.model)
        let concentration: Int64 = 2_000_000
        let catheter: Int64 = 260_000
        let prescription = WirePrescription(
            drug: .baclofen, concentrationNanogramsPerMillilitre: UInt32(concentration), indication: .spasticitySpinal,
            mode: .continuous, continuousVolumeRateNanolitresPerDay: 200_000,
            continuousDoseRateNanogramsPerDay: 400_000, catheterVolumeNanolitres: UInt32(catheter))
        let line = FluidLine(pathway: FineVolume(nanolitres: profile.internalPathwayVolume.baseValue),
                             catheter: FineVolume(nanolitres: catheter), drug: WireDrug.baclofen.rawValue, concentration: concentration)
        let mechanics = PumpMechanics(
            clock: hostNow, zoneOffset: 0, reservoir: FineVolume(nanolitres: 12_000_000),
            reservoirConcentration: concentration, reservoirDrug: WireDrug.baclofen.rawValue, line: line,
            schedule: .stopped, lowReservoirThreshold: FineVolume(nanolitres: profile.defaultLowReservoirAlarm.baseValue))
        let pump = SimulatedPump(
            identity: identity, profile: profile, mechanics: mechanics, drug: .baclofen,
            prescription: prescription, lastChange: hostNow - 86_400)
        return PumpSimulation(pump: pump, link: link, generator: SeededGenerator(seed: seed), pendingFaults: [],
                              clockOffset: 0, rejected: RejectionCounters())
    }

    init(pump: SimulatedPump, link: LinkModel, generator: SeededGenerator, pendingFaults: [Fault],
         clockOffset: Int64, rejected: RejectionCounters) {
        self.pump = pump
        self.link = link
        self.generator = generator
        self.pendingFaults = pendingFaults
        self.clockOffset = clockOffset
        self.rejected = rejected
        linkCountersFrom = (rejected.badFrames, 0)
        // The key was checked when the identity was made or loaded.
        endpoint = PumpKey(bytes: pump.identity.key).map { PumpSessionEndpoint(serial: pump.identity.serial, key: $0) }
        endpointKey = pump.identity.key
    }

    init(snapshot: SimulationSnapshot, path: String) throws(SimulatorStateError) {
        guard let profile = PumpProfile.named(snapshot.model) else {
            throw .corrupt(path: path, detail: "unknown pump model \(snapshot.model)")
        }
        guard snapshot.identity.key.count == PumpKey.length else {
            throw .corrupt(path: path, detail: "the pump key is not \(PumpKey.length) bytes")
        }
        guard let drug = WireDrug(rawValue: snapshot.drug) else {
            throw .corrupt(path: path, detail: "unknown drug code \(snapshot.drug)")
        }
        func prescription(_ hex: String, _ field: String) throws(SimulatorStateError) -> WirePrescription {
            guard let bytes = Hex.decode(hex), let value = try? WirePrescription(decodingFields: bytes) else {
                throw .corrupt(path: path, detail: "the \(field) prescription is not a valid wire encoding")
            }
            return value
        }
        let active = try prescription(snapshot.prescription, "active")
        let staged = try snapshot.staged.map { hex throws(SimulatorStateError) in try prescription(hex, "staged") }
        var pump = SimulatedPump(
            identity: snapshot.identity, profile: profile, mechanics: snapshot.mechanics, drug: drug,
            prescription: active, staged: staged, lastChange: snapshot.lastChange,
            refillExpectedResidual: snapshot.refillExpectedResidual,
            infusionStoppedBeforeRefill: snapshot.infusionStoppedBeforeRefill, refillBegunAt: snapshot.refillBegunAt,
            eventLog: snapshot.eventLog,
            outcomes: snapshot.outcomes, patientBolusTimes: snapshot.patientBolusTimes,
            bolusesDelivered: snapshot.bolusesDelivered)
        pump.auditAnchors = Array((snapshot.auditAnchors ?? []).prefix(AuditAnchorReport.maximumAnchors))
        self.init(pump: pump, link: snapshot.link, generator: snapshot.generator, pendingFaults: snapshot.pendingFaults,
                  clockOffset: snapshot.clockOffset, rejected: snapshot.rejected)
    }

    var snapshot: SimulationSnapshot {
        var snapshot = SimulationSnapshot(
            formatVersion: SimulatorStateFile.currentVersion, identity: pump.identity, model: pump.profile.model,
            mechanics: pump.mechanics, drug: pump.drug.rawValue, prescription: Hex.encode(pump.prescription.canonicalEncoding),
            staged: pump.staged.map { Hex.encode($0.canonicalEncoding) }, lastChange: pump.lastChange,
            refillExpectedResidual: pump.refillExpectedResidual,
            infusionStoppedBeforeRefill: pump.infusionStoppedBeforeRefill, refillBegunAt: pump.refillBegunAt,
            eventLog: pump.eventLog, outcomes: pump.outcomes,
            patientBolusTimes: pump.patientBolusTimes, bolusesDelivered: pump.bolusesDelivered,
            clockOffset: clockOffset, link: link, generator: generator, pendingFaults: pendingFaults, rejected: rejected)
        snapshot.auditAnchors = pump.auditAnchors
        return snapshot
    }

    // MARK: Time and faults

    /// Brings the pump up to the host's present.
    public mutating func catchUp(hostNow: Int64) {
        pump.advance(to: hostNow + clockOffset)
    }

    /// Moves simulated time forward by `seconds` (`sim advance`).
    public mutating func advance(seconds: Int64, hostNow: Int64) {
        clockOffset += max(0, seconds)
        catchUp(hostNow: hostNow)
    }

    /// Injects a fault. Faults on the link wait for the next frame; faults in
    /// the pump act at once.
    public mutating func inject(_ fault: Fault, minutes: Int = 0) {
        switch fault {
        case .dropNextRequest, .dropNextResponse, .corruptNextFrame, .corruptNextHandshakeReply:
            pendingFaults.append(fault)
        case .dropAllResponses, .dropResponsesFromNextChange:
            if !pendingFaults.contains(fault) { pendingFaults.append(fault) }
        case .outOfRange:
            link.pumpInRange = false
        case .inRange:
            link.pumpInRange = true
            pendingFaults.removeAll { $0 == .dropAllResponses || $0 == .dropResponsesFromNextChange }
        case .motorStall:
            pump.raise(.motorStall)
        case .memoryFault:
            pump.raise(.memoryFault)
        case .batteryERI:
            pump.mechanics.battery = BatteryModel(remaining: min(pump.mechanics.battery.remaining, BatteryModel.replacementReserve))
            pump.advance(to: pump.clock + 1)
        case .batteryEOS:
            pump.mechanics.battery = BatteryModel(remaining: 0)
            pump.advance(to: pump.clock + 1)
        case .clockDrift:
            // The pump's clock runs off by `minutes`; true time does not.
            pump.mechanics.clockError += Int64(minutes) * 60
        }
    }

    private mutating func takeFault(_ fault: Fault) -> Bool {
        guard let index = pendingFaults.firstIndex(of: fault) else { return false }
        pendingFaults.remove(at: index)
        return true
    }

    // MARK: Bytes from the host

    /// Feeds bytes from the host; returns the frames to send back.
    public mutating func receive(fromHost bytes: [UInt8]) -> [Outgoing] {
        var outgoing: [Outgoing] = []
        for body in decoder.feed(bytes) {
            // The request's own bytes cross the link before its answer can
            // start back: each direction is charged its own length.
            requestTransitMilliseconds = link.transitMilliseconds(size: (try? FrameEncoder.encode(body))?.count ?? body.count)
            outgoing += handle(frameBody: body)
        }
        let drops = decoder.statistics.droppedFrames
        rejected.badFrames += drops - countedDecoderDrops
        countedDecoderDrops = drops
        return outgoing
    }

    private mutating func handle(frameBody body: [UInt8]) -> [Outgoing] {
        let frame: Frame
        do {
            frame = try Frame(body: body)
        } catch {
            rejected.badFrames += 1
            // Answer with the frame's own sequence when the header has one,
            // and the reason PROTOCOL.md gives for what was wrong.
            let sequence = body.count >= FrameHeader.length ? UInt16(body[2]) | UInt16(body[3]) << 8 : 0
            let reason: NegativeAcknowledgement = switch error {
            case .unsupportedVersion: .unsupportedVersion
            case .invalidValue(field: "header.kind", _): .unknownKind
            default: .malformedFrame
            }
            return reply(.negativeAcknowledgement, sequence: sequence, payload: reason.encoded)
        }
        // Host frames carry flags only on pump messages, and never "from
        // pump": a frame claiming the other direction or a sealed wand
        // command is malformed (PROTOCOL.md section 3), not relayed or handled.
        let flagsAllowed: Bool = switch frame.header.kind {
        case .wandCommand: frame.header.flags.isEmpty
        case .pumpMessage:
            // The wand-info bit asks for the wand's info with a session
            // opening: it has no meaning on a sealed message.
            !frame.header.flags.contains(.fromPump)
                && !(frame.header.flags.contains(.wandInfo) && frame.header.flags.contains(.sealed))
        default: true
        }
        guard flagsAllowed else {
            rejected.badFrames += 1
            return reply(.negativeAcknowledgement, sequence: frame.header.sequence,
                         payload: NegativeAcknowledgement.malformedFrame.encoded)
        }
        switch frame.header.kind {
        case .wandCommand:
            let request: WandRequest
            do {
                request = try WandRequest(decoding: frame.payload)
            } catch {
                // An opcode the wand does not know is 0x07; a known opcode
                // with a bad payload (an empty payload, trailing bytes, a
                // loopback over 256 bytes) is a malformed frame.
                let reason: NegativeAcknowledgement = if case .unknownOpcode = error { .unknownWandOpcode } else { .malformedFrame }
                return reply(.negativeAcknowledgement, sequence: frame.header.sequence, payload: reason.encoded)
            }
            return reply(.wandResponse, sequence: frame.header.sequence, payload: answer(request).encoded)
        case .pumpMessage where frame.header.flags.contains(.wandInfo):
            // The wand's info first (its own answer, at once), then the
            // session opening relayed as the pump expects it: without the bit.
            var forPump = frame
            forPump.header.flags.remove(.wandInfo)
            return reply(.wandResponse, sequence: frame.header.sequence, payload: answer(.info).encoded)
                + relay(forPump, body: forPump.body)
        case .pumpMessage:
            return relay(frame, body: body)
        default:
            return reply(.negativeAcknowledgement, sequence: frame.header.sequence,
                         payload: NegativeAcknowledgement.unknownKind.encoded)
        }
    }

    private mutating func answer(_ request: WandRequest) -> WandResponse {
        switch request {
        case .info:
            return .info(WandInfo(
                firmwareMajor: Self.wandFirmware[0], firmwareMinor: Self.wandFirmware[1],
                firmwarePatch: Self.wandFirmware[2], serial: Self.wandSerial,
                supportedVersions: [FrameHeader.currentVersion]))
        case .linkStatus:
            let quality = link.pumpInRange ? UInt8(clamping: 100 - (link.lossPerMille + link.corruptionPerMille) / 10) : 0
            return .linkStatus(LinkStatus(
                pumpInRange: link.pumpInRange, signalQualityPercent: quality,
                crcErrors: UInt32(clamping: rejected.badFrames - linkCountersFrom.badFrames),
                retries: UInt32(clamping: countedEndpoint.retransmissionsAnswered - linkCountersFrom.retries),
                framesRelayed: framesRelayed))
        case let .loopback(data):
            return .loopback(data)
        case .linkReset:
            // The radio link and the wand's counters start over; the pump's
            // session is the pump's and is not touched (PROTOCOL.md section 4).
            decoder.reset()
            framesRelayed = 0
            linkCountersFrom = (rejected.badFrames, countedEndpoint.retransmissionsAnswered)
            return .linkReset
        }
    }

    /// Carries a pump message over the radio to the pump and its reply back.
    private mutating func relay(_ frame: Frame, body: [UInt8]) -> [Outgoing] {
        guard link.pumpInRange else {
            return reply(.negativeAcknowledgement, sequence: frame.header.sequence,
                         payload: NegativeAcknowledgement.pumpNotInRange.encoded)
        }
        framesRelayed &+= 1
        if takeFault(.dropNextRequest) { return [] }
        var toPump = body
        var copies = 1
        switch link.fate(of: body.count, using: &generator) {
        case .lost: return []
        case let .corrupted(bit): toPump[bit / 8] ^= 1 << UInt8(bit % 8)
        case .duplicated: copies = 2
        case .delivered: break
        }
        adoptNewKeyAtHandshake(toPump)
        guard var endpoint else { return [] }
        let outcomesBefore = pump.outcomes
        var replies: [[UInt8]] = []
        for _ in 0..<copies {
            var pumpCopy = pump
            var outcomes = pumpCopy.outcomes
            let expiredBefore = endpoint.statistics.expiredRequests
            // The session's idle timer is monotonic (true simulated time);
            // the pump's UTC clock, which set clock moves, only stamps
            // outcomes and judges expiry. A clock set 20 minutes forward
            // must not end the session it was set in.
            let answer = endpoint.handle(
                frameBody: toPump, now: .seconds(pumpCopy.mechanics.clock), utcSeconds: pumpCopy.clock, outcomes: &outcomes
            ) { request in pumpCopy.execute(request) }
            pumpCopy.outcomes = outcomes
            if endpoint.statistics.expiredRequests > expiredBefore {
                pumpCopy.logExpiredRequest()
            }
            pump = pumpCopy
            if let answer { replies.append(answer) }
        }
        self.endpoint = endpoint
        countEndpointRejections()
        // A new entry in the pump's command record: it acted on a change.
        if pump.outcomes != outcomesBefore, takeFault(.dropResponsesFromNextChange), !pendingFaults.contains(.dropAllResponses) {
            pendingFaults.append(.dropAllResponses)
        }
        if takeFault(.dropNextResponse) { return [] }
        // Every reply lost (the pump acted) until the fault is cleared.
        if pendingFaults.contains(.dropAllResponses) { return [] }
        var outgoing: [Outgoing] = []
        for var replyBody in replies {
            // An unsealed reply from the pump is the handshake's: corrupt a
            // byte of its sealed payload (the last 63 bytes) so the frame
            // still passes its CRC but the host's check fails.
            if let frame = try? Frame(body: replyBody), frame.header.flags == .fromPump,
               replyBody.count > 20, takeFault(.corruptNextHandshakeReply) {
                replyBody[replyBody.count - 20] ^= 0x04
            }
            switch link.fate(of: replyBody.count, using: &generator) {
            case .lost: continue
            case let .corrupted(bit): replyBody[bit / 8] ^= 1 << UInt8(bit % 8)
            case .duplicated: outgoing += framed(replyBody)
            case .delivered: break
            }
            outgoing += framed(replyBody)
        }
        return outgoing
    }

    /// After a re-key (0x15) the pump answers the next handshake under its
    /// new key; the session that carried the re-key kept its session keys
    /// until then. So the endpoint is rebuilt with the identity's key when
    /// an unsealed handshake frame arrives and the key has changed, never
    /// in the middle of a session.
    private mutating func adoptNewKeyAtHandshake(_ body: [UInt8]) {
        guard pump.identity.key != endpointKey, let frame = try? Frame(body: body),
              frame.header.kind == .pumpMessage, !frame.header.flags.contains(.sealed),
              !frame.header.flags.contains(.fromPump),
              let key = PumpKey(bytes: pump.identity.key) else { return }
        // The pump answers this and later handshakes under the new key; the
        // session it holds (the one that carried the re-key) is not ended by
        // a handshake, which anyone in radio range can send.
        endpoint?.replaceLongTermKey(with: key)
        endpointKey = pump.identity.key
    }

    private mutating func countEndpointRejections() {
        guard let now = endpoint?.statistics else { return }
        rejected.authenticationFailures += now.forgeriesRejected - countedEndpoint.forgeriesRejected
        rejected.replays += now.replaysRejected - countedEndpoint.replaysRejected
        rejected.withoutSession += now.withoutSession - countedEndpoint.withoutSession
        rejected.malformedRequests += now.malformedRequests - countedEndpoint.malformedRequests
        countedEndpoint = now
    }

    private mutating func reply(_ kind: FrameKind, sequence: UInt16, payload: [UInt8]) -> [Outgoing] {
        framed(FrameHeader(kind: kind, sequence: sequence).encoded + payload)
    }

    /// Frames a body for the host, applying a pending corruption fault.
    private mutating func framed(_ body: [UInt8]) -> [Outgoing] {
        guard var bytes = try? FrameEncoder.encode(body) else { return [] }
        if takeFault(.corruptNextFrame), bytes.count > 2 {
            // Flip a bit inside the frame, never the delimiter, so the host's
            // decoder sees a frame that fails its CRC.
            let index = 1 + Int(generator.next() % UInt64(bytes.count - 2))
            bytes[index] ^= 0x10
            if bytes[index] == 0 { bytes[index] = 0x01 }
        }
        return [Outgoing(bytes: bytes,
                         delayMilliseconds: requestTransitMilliseconds + link.transitMilliseconds(size: bytes.count))]
    }
}
