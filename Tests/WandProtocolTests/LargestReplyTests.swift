import Testing
@testable import WandProtocol

/// The largest value of every reply that carries variable content, built
/// from the decoders' own bounds (every count at its maximum, the longest
/// serial, every optional part present), encoded, sealed by the pump's
/// session endpoint and opened by the host: a reply the pump can build but
/// not seal would reach the host as silence (PROTOCOL.md 7.2: at most 2015
/// plaintext bytes, of which the reply counter takes 8 and opcode and
/// status 2). The sizes are those of the table in PROTOCOL.md 5.2
/// ("Largest replies").
@Suite("Largest replies fit one sealed frame")
struct LargestReplyTests {
    /// The plaintext bytes a sealed reply can hold: 2016 padded, less the 0x80 marker.
    static let largestSealablePlaintext = SealPadding.sizes.max().map { $0 - 1 } ?? 0
    /// What a sealed reply's plaintext holds before its body: the request's counter, opcode | 0x80, status.
    static let replyFraming = 8 + 2

    static let serial = String(repeating: "W", count: 32)

    /// A weekly flex schedule with 13 steps on every day (91, the decoder's
    /// maximum) and a patient bolus: the longest prescription encoding.
    static func largestPrescription(_ drug: WireDrug) -> WirePrescription {
        let concentration: UInt32 = 2_000_000
        var steps: [WirePrescription.Step] = []
        for day in 0..<7 {
            for step in 0..<WirePrescription.maximumStepsPerDay {
                let volume = UInt32(100_000 + 1_000 * step)
                steps.append(.init(startMinute: UInt16(day * 1440 + step * 100), volumeRateNanolitresPerDay: volume,
                                   doseRateNanogramsPerDay: UInt32(UInt64(volume) * UInt64(concentration) / 1_000_000)))
            }
        }
        return WirePrescription(
            drug: drug, concentrationNanogramsPerMillilitre: concentration, indication: .spasticitySpinal, mode: .flex,
            cycle: .weekly, steps: steps,
            patientBolus: .init(doseNanograms: 50_000, volumeNanolitres: 25_000, durationSeconds: 600, lockoutSeconds: 3_600,
                                maximumPer24Hours: 24),
            catheterVolumeNanolitres: 2_000_000)
    }

    static func commandId(_ seed: UInt8) -> CommandID {
        CommandID(unchecked: (0..<16).map { seed &+ UInt8($0) })
    }

    /// Eight segments (the most a line holds), alternating the outgoing drug
    /// and no drug, adding up to the largest pathway and catheter; the
    /// outgoing prescription and a bolus in progress present.
    static var largestFluidPath: WireFluidPath {
        let segments = (0..<WireFluidPath.maximumSegments).map { index in
            WireFluidPath.Segment(volumeNanolitres: 500_000,
                                  contents: index.isMultiple(of: 2) ? .drug(.morphine, concentrationNanogramsPerMillilitre: 10_000_000) : .noDrug)
        }
        return WireFluidPath(segments: segments, pathwayNanolitres: WireFluidPath.maximumPathwayNanolitres,
                             catheterNanolitres: WireFluidPath.maximumCatheterNanolitres,
                             outgoingPrescription: largestPrescription(.morphine),
                             bolus: .init(kind: .bridge, remainingNanolitres: 40_000_000, remainingSeconds: 86_400))
    }

    static var largestEventPage: EventLogPage {
        EventLogPage(page: 0, pageCount: 4096, totalEvents: 65_536, events: (0..<EventLogPage.maximumEntries).map { index in
            PumpEvent(index: 65_535 - UInt32(index), utcSeconds: 1_700_000_000 - Int64(index), code: 0x0020, detail: 40_000_000)
        })
    }

    static func largestInterrogate(fluidPath: WireFluidPath = largestFluidPath, events: EventLogPage? = largestEventPage) -> InterrogateReport {
        let prescription = largestPrescription(.baclofen)
        return InterrogateReport(
            serial: serial, firmwareMajor: 255, firmwareMinor: 255, firmwarePatch: 255,
            clock: WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 840), batteryMillivolts: 3_100,
            batteryState: .electiveReplacement, reservoirVolumeNanolitres: 40_000_000, reservoirCapacityNanolitres: 40_000_000,
            lowReservoirThresholdNanolitres: 2_000_000, reservoirDrug: .baclofen,
            reservoirConcentrationNanogramsPerMillilitre: 2_000_000, infusionState: .bolusInProgress,
            prescription: prescription, prescriptionHash: prescription.hash,
            stagedHash: largestPrescription(.baclofen).hash,
            activeAlarms: (1...UInt16(InterrogateReport.maximumAlarms)).map { PumpAlarm(rawValue: $0) },
            lastChangeUTCSeconds: 1_699_000_000,
            recentCommands: (0..<UInt8(InterrogateReport.maximumRecords)).map { index in
                CommandRecordEntry(commandId: commandId(index &* 16 &+ 1), opcode: .startBolus, status: 0,
                                   utcSeconds: 1_699_000_000 + Int64(index))
            },
            fluidPath: fluidPath, newestEvents: events)
    }

    /// The reply the pump seals for `request` when its therapy answers
    /// `reply`, opened by the host; nil when the pump sent nothing.
    static func sealedRoundTrip(_ request: PumpRequest, _ reply: PumpReply,
                                outcomes: CommandOutcomeStore = CommandOutcomeStore()) throws -> (frameBody: [UInt8], opened: PumpReply)? {
        var rig = SessionRig()
        rig.outcomes = outcomes
        var host = try rig.openSession()
        let (body, counter) = try host.seal(request, sequence: 2)
        guard let replyBody = rig.pump.handle(frameBody: body, now: .zero, utcSeconds: 1_700_000_000, outcomes: &rig.outcomes,
                                              execute: { _ in reply })
        else { return nil }
        return (replyBody, try host.open(Frame(body: replyBody), answering: counter))
    }

    @Test("The largest parts have the sizes of the protocol's table")
    func partSizes() {
        #expect(Self.largestSealablePlaintext == 2015)
        #expect(Self.largestPrescription(.baclofen).encodedFields.count == 949)
        #expect(Self.largestFluidPath.encodedFields.count == 1041)
        #expect(Self.largestEventPage.encodedFields.count == 297)
        let report = Self.largestInterrogate()
        #expect(report.encodedFields.count == 2670)
        #expect(Self.largestInterrogate(events: nil).encodedFields.count == 2373)
        var withoutOutgoing = Self.largestFluidPath
        withoutOutgoing.outgoingPrescription = nil
        #expect(Self.largestInterrogate(fluidPath: withoutOutgoing).encodedFields.count == 1721)
        // Every part decodes back as built: the values are legal, not only long.
        #expect((try? InterrogateReport(decodingFields: report.encodedFields)) == report)
    }

    @Test("The largest interrogate reply with no outgoing prescription, event page included, seals and opens back equal")
    func largestInterrogateWithoutOutgoingPrescription() throws {
        var fluidPath = Self.largestFluidPath
        fluidPath.outgoingPrescription = nil
        let reply = PumpReply.interrogate(Self.largestInterrogate(fluidPath: fluidPath))
        #expect(Self.replyFraming + reply.encoded.count - 2 <= Self.largestSealablePlaintext - 2)
        let trip = try #require(try Self.sealedRoundTrip(.interrogate(InterrogateRequest(includesNewestEvents: true)), reply))
        #expect(trip.opened == reply)
        // 5 header + 8 counter + 2016 padded + 16 tag.
        #expect(trip.frameBody.count == 2045)
    }

    /// Two full weekly schedules (the active one and the outgoing one after a
    /// drug change) do not fit, with or without the event page: 2373 + 10 and
    /// 2670 + 10 plaintext bytes against 2015. The pump's endpoint then sends
    /// nothing (no truncated frame, the session kept; see the next test), and
    /// the host meets silence. Recorded as a known issue until the protocol
    /// carries the outgoing prescription apart: the day it fits, this fails
    /// and the issue comes off.
    @Test("The largest interrogate reply fits one sealed frame")
    func largestInterrogateFits() {
        for events in [Self.largestEventPage, nil] {
            let reply = PumpReply.interrogate(Self.largestInterrogate(events: events))
            withKnownIssue("two 91-step prescriptions in one interrogate reply exceed the 2015-byte sealed plaintext") {
                let trip = try #require(try Self.sealedRoundTrip(.interrogate(InterrogateRequest(includesNewestEvents: events != nil)), reply))
                #expect(trip.opened == reply)
            }
        }
    }

    @Test("A reply too large to seal is never sent cut short; the session stays open for the next request")
    func unsealableReplyIsNotSent() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let tooLarge = PumpReply.interrogate(Self.largestInterrogate())
        let (body, _) = try host.seal(.interrogate(InterrogateRequest(includesNewestEvents: true)), sequence: 2)
        let dropped = rig.pump.handle(frameBody: body, now: .zero, utcSeconds: 1_700_000_000, outcomes: &rig.outcomes,
                                      execute: { _ in tooLarge })
        #expect(dropped == nil)
        #expect(rig.pump.statistics.repliesTooLarge == 1)
        // The same session answers the next request, and the host accepts the
        // reply across the pump counter the unsent reply used.
        let clock = PumpReply.clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0))
        let (next, counter) = try host.seal(.readClock(ReadClock()), sequence: 3)
        let replyBody = try #require(rig.pump.handle(frameBody: next, now: .zero, utcSeconds: 1_700_000_000, outcomes: &rig.outcomes,
                                                     execute: { _ in clock }))
        #expect(try host.open(Frame(body: replyBody), answering: counter) == clock)
    }

    @Test("The largest event log page, prescription, audit anchor and outcome replies seal and open back equal")
    func otherReplies() throws {
        let page = EventLogPage(page: 4095, pageCount: 4096, totalEvents: 65_536, events: Self.largestEventPage.events)
        let prescription = Self.largestPrescription(.ziconotide)
        let anchors = AuditAnchorReport(anchors: (0..<UInt8(AuditAnchorReport.maximumAnchors)).map { index in
            WireAuditAnchor(utcSeconds: 253_402_300_799 - Int64(index), logID: [UInt8](repeating: index &+ 1, count: 16),
                            rowCount: UInt64(Int64.max) - UInt64(index), rowMAC: [UInt8](repeating: 0xA5 ^ index, count: 32))
        })
        let stage = StageReceipt(commandId: Self.commandId(0x40), stagedHash: prescription.hash)
        // The pump's session layer answers a query from its own store: the
        // longest reply it stores is a stage receipt's (50 of the 64 allowed).
        let stored = PumpReply.staged(stage).encoded
        var outcomes = CommandOutcomeStore()
        outcomes.record(stage.commandId, requestPlaintext: [0x04], reply: stored, utcSeconds: 1_700_000_000)
        let outcome = CommandOutcomeReport(commandId: Self.commandId(0x40), storedReply: stored)
        let cases: [(PumpRequest, PumpReply, Int)] = [
            (.readEventLog(ReadEventLog(page: 4095)), .eventLog(page), 297),
            (.readPrescription(ReadPrescriptionRequest()), .prescription(PrescriptionReport(prescription: prescription, hash: prescription.hash)), 981),
            (.recordAuditAnchor(.reportOnly), .auditAnchors(anchors), 513),
            (.queryCommandOutcome(QueryCommandOutcome(commandId: Self.commandId(0x40))), .outcome(outcome), 69),
        ]
        for (request, reply, bodyBytes) in cases {
            #expect(reply.encoded.count == 2 + bodyBytes, "\(request.opcode)")
            let trip = try #require(try Self.sealedRoundTrip(request, reply, outcomes: outcomes), "\(request.opcode)")
            #expect(trip.opened == reply, "\(request.opcode)")
        }
    }

    @Test("The session opening's reply and the wand's info reply fit one frame unsealed")
    func unsealedReplies() throws {
        let info = WandInfo(firmwareMajor: 255, firmwareMinor: 255, firmwarePatch: 255, serial: Self.serial,
                            supportedVersions: Array(1...UInt8(WandInfo.maximumVersionCount)))
        #expect(info.encoded.count == 46)
        #expect(try WandInfo(decoding: info.encoded) == info)
        #expect(OpenSessionReply.acceptedLength == 113)
        #expect(HandshakePayload.length == 47)
    }
}
