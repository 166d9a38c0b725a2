import PropertyBased
@testable import WandProtocol

/// Generators of valid (canonical) pump messages for round-trip properties.
enum MessageGenerators {
    static var request: Generator<PumpRequest, Shrink.None<PumpRequest>> {
        Generator(run: { rng in randomRequest(&rng) })
    }
    static var reply: Generator<PumpReply, Shrink.None<PumpReply>> {
        Generator(run: { rng in randomReply(&rng) })
    }
    static var prescription: Generator<WirePrescription, Shrink.None<WirePrescription>> {
        Generator(run: { rng in randomPrescription(&rng) })
    }

    static func u32<R: RandomNumberGenerator>(_ rng: inout R, _ range: ClosedRange<UInt32> = 0...UInt32.max) -> UInt32 {
        UInt32.random(in: range, using: &rng)
    }

    /// Any id but the reserved all-zero one (the last byte is never 0).
    static func commandId<R: RandomNumberGenerator>(_ rng: inout R) -> CommandID {
        CommandID(unchecked: (0..<15).map { _ in UInt8.random(in: 0...255, using: &rng) } + [UInt8.random(in: 1...255, using: &rng)])
    }

    /// Any time a reply may carry: 0 ... 9999-12-31T23:59:59Z.
    static func utcSeconds<R: RandomNumberGenerator>(_ rng: inout R) -> Int64 {
        Int64.random(in: WireTime.utcSecondsRange, using: &rng)
    }

    /// Any expiry the wire can carry.
    static func expiry<R: RandomNumberGenerator>(_ rng: inout R) -> RequestExpiry {
        RequestExpiry(utcSeconds: Int64.random(in: WireTime.utcSecondsRange, using: &rng))
    }

    static func hash<R: RandomNumberGenerator>(_ rng: inout R) -> PrescriptionHash {
        PrescriptionHash(unchecked: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func time<R: RandomNumberGenerator>(_ rng: inout R) -> WireTime {
        WireTime(utcSeconds: utcSeconds(&rng),
                 zoneOffsetMinutes: Int16.random(in: -720...840, using: &rng))
    }

    static func randomPrescription<R: RandomNumberGenerator>(_ rng: inout R) -> WirePrescription {
        let mode = WirePrescription.Mode.allCases.randomElement(using: &rng) ?? .stopped
        var prescription = WirePrescription(
            drug: WireDrug.allCases.randomElement(using: &rng) ?? .baclofen,
            concentrationNanogramsPerMillilitre: u32(&rng, 1...WirePrescription.maximumConcentration),
            indication: WireIndication.allCases.randomElement(using: &rng) ?? .spasticitySpinal,
            mode: mode, catheterVolumeNanolitres: u32(&rng))
        switch mode {
        case .continuous, .minimumRate:
            prescription.continuousVolumeRateNanolitresPerDay = u32(&rng)
            prescription.continuousDoseRateNanogramsPerDay = u32(&rng)
        case .flex:
            let cycle = Bool.random(using: &rng) ? WirePrescription.Cycle.daily : .weekly
            prescription.cycle = cycle
            // Up to 13 distinct start minutes per day, day by day.
            var steps: [WirePrescription.Step] = []
            for day in 0..<Int(cycle.rawValue) {
                let count = Int.random(in: (day == 0 ? 1 : 0)...13, using: &rng)
                var minutes = Set<Int>(day == 0 ? [0] : [])
                while minutes.count < count { minutes.insert(Int.random(in: 0..<1440, using: &rng)) }
                for minute in minutes.sorted() {
                    steps.append(.init(startMinute: UInt16(day * 1440 + minute), volumeRateNanolitresPerDay: u32(&rng),
                                       doseRateNanogramsPerDay: u32(&rng)))
                }
            }
            prescription.steps = steps
        case .stopped:
            break
        }
        if Bool.random(using: &rng) {
            prescription.patientBolus = .init(doseNanograms: u32(&rng), volumeNanolitres: u32(&rng), durationSeconds: u32(&rng),
                                              lockoutSeconds: u32(&rng), maximumPer24Hours: UInt8.random(in: 1...24, using: &rng))
        }
        return prescription
    }

    static func randomRequest<R: RandomNumberGenerator>(_ rng: inout R) -> PumpRequest {
        let id = commandId(&rng)
        let opcode = PumpOpcode.allCases.filter { $0 != .openSession }.randomElement(using: &rng) ?? .interrogate
        switch opcode {
        case .openSession, .interrogate: return .interrogate(InterrogateRequest())
        case .readPrescription: return .readPrescription(ReadPrescriptionRequest())
        case .stagePrescription: return .stagePrescription(StagePrescription(commandId: id, expiry: expiry(&rng), prescription: randomPrescription(&rng)))
        case .commitStagedPrescription: return .commitStagedPrescription(CommitStagedPrescription(commandId: id, expiry: expiry(&rng), stagedHash: hash(&rng)))
        case .discardStagedPrescription: return .discardStagedPrescription(DiscardStagedPrescription(commandId: id, expiry: expiry(&rng)))
        case .startBolus:
            return .startBolus(StartBolus(commandId: id, expiry: expiry(&rng), kind: BolusKind.allCases.randomElement(using: &rng) ?? .prime,
                                          doseNanograms: u32(&rng), volumeNanolitres: u32(&rng, 1...40_000_000),
                                          durationSeconds: u32(&rng, 1...86_400)))
        case .cancelBolus: return .cancelBolus(CancelBolus(commandId: id, expiry: expiry(&rng)))
        case .stopInfusion: return .stopInfusion(StopInfusion(commandId: id, expiry: expiry(&rng)))
        case .resumeInfusion: return .resumeInfusion(ResumeInfusion(commandId: id, expiry: expiry(&rng)))
        case .refillBegin: return .refillBegin(RefillBegin(commandId: id, expiry: expiry(&rng)))
        case .refillCancel: return .refillCancel(RefillCancel(commandId: id, expiry: expiry(&rng)))
        case .rekey:
            // Never all zero: the first byte is at least 1.
            let key = [UInt8.random(in: 1...255, using: &rng)] + (1..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return Rekey(commandId: id, expiry: expiry(&rng), newKey: key).map(PumpRequest.rekey) ?? .interrogate(InterrogateRequest())
        case .setFluidPath:
            return .setFluidPath(SetFluidPath(commandId: id, expiry: expiry(&rng), event: FluidPathEvent.allCases.randomElement(using: &rng) ?? .implant,
                                              catheterNanolitres: u32(&rng, 1...WireFluidPath.maximumCatheterNanolitres)))
        case .refillComplete:
            var prescription: WirePrescription? = nil
            var drug = WireDrug.allCases.randomElement(using: &rng) ?? .baclofen
            var concentration = u32(&rng, 1...WirePrescription.maximumConcentration)
            if Bool.random(using: &rng) {
                let carried = randomPrescription(&rng)
                drug = carried.drug
                concentration = carried.concentrationNanogramsPerMillilitre
                prescription = carried
            }
            return .refillComplete(RefillComplete(commandId: id, expiry: expiry(&rng), withdrawnNanolitres: u32(&rng), addedNanolitres: u32(&rng, 1...40_000_000),
                                                  drug: drug, concentrationNanogramsPerMillilitre: concentration, newPrescription: prescription))
        case .setAlarmConfiguration:
            return .setAlarmConfiguration(SetAlarmConfiguration(commandId: id, expiry: expiry(&rng), lowReservoirThresholdNanolitres: u32(&rng, 1...40_000_000)))
        case .readEventLog: return .readEventLog(ReadEventLog(page: UInt16.random(in: 0...UInt16.max, using: &rng)))
        case .readClock: return .readClock(ReadClock())
        case .setClock: return .setClock(SetClock(commandId: id, expiry: expiry(&rng), time: time(&rng)))
        case .queryCommandOutcome: return .queryCommandOutcome(QueryCommandOutcome(commandId: id))
        case .closeSession: return .closeSession(CloseSession())
        case .recordAuditAnchor:
            return Bool.random(using: &rng) ? .recordAuditAnchor(.reportOnly)
                : .recordAuditAnchor(RecordAuditAnchor(logID: (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) },
                                                       rowCount: UInt64.random(in: 1...UInt64(Int64.max), using: &rng),
                                                       rowMAC: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        }
    }

    /// A valid fluid path: segments of distinct neighbouring contents that
    /// add up to pathway plus catheter.
    static func randomFluidPath<R: RandomNumberGenerator>(_ rng: inout R) -> WireFluidPath {
        let pathway = u32(&rng, 1...WireFluidPath.maximumPathwayNanolitres)
        let catheter = u32(&rng, 0...WireFluidPath.maximumCatheterNanolitres)
        var remaining = pathway + catheter
        var segments: [WireFluidPath.Segment] = []
        while remaining > 0, segments.count < WireFluidPath.maximumSegments {
            let volume = segments.count == WireFluidPath.maximumSegments - 1 ? remaining : u32(&rng, 1...remaining)
            var contents: WireLineContents = Bool.random(using: &rng) ? .noDrug
                : .drug(WireDrug.allCases.randomElement(using: &rng) ?? .baclofen,
                        concentrationNanogramsPerMillilitre: u32(&rng, 1...WirePrescription.maximumConcentration))
            if segments.last?.contents == contents { contents = contents == .noDrug ? .drug(.morphine, concentrationNanogramsPerMillilitre: 1) : .noDrug }
            segments.append(.init(volumeNanolitres: volume, contents: contents))
            remaining -= volume
        }
        let bolus: WireFluidPath.BolusInProgress? = Bool.random(using: &rng)
            ? .init(kind: WireFluidPath.BolusKindInProgress.allCases.randomElement(using: &rng) ?? .therapeutic,
                    remainingNanolitres: u32(&rng, 1...40_000_000), remainingSeconds: u32(&rng, 1...86_400))
            : nil
        return WireFluidPath(segments: segments, pathwayNanolitres: pathway, catheterNanolitres: catheter,
                             outgoingPrescription: Bool.random(using: &rng) ? randomPrescription(&rng) : nil, bolus: bolus)
    }

    static func randomReply<R: RandomNumberGenerator>(_ rng: inout R) -> PumpReply {
        let id = commandId(&rng)
        switch Int.random(in: 0...9, using: &rng) {
        case 0:
            let opcode = PumpOpcode.allCases.filter { $0 != .openSession }.randomElement(using: &rng) ?? .startBolus
            return .refused(opcode, PumpRefusal.allCases.randomElement(using: &rng) ?? .internalFault)
        case 1:
            let prescription = randomPrescription(&rng)
            return .interrogate(InterrogateReport(
                serial: "SP-" + String(u32(&rng)), firmwareMajor: 1, firmwareMinor: 2, firmwarePatch: 3, clock: time(&rng),
                batteryMillivolts: UInt16.random(in: 0...UInt16.max, using: &rng),
                batteryState: BatteryState.allCases.randomElement(using: &rng) ?? .ok,
                reservoirVolumeNanolitres: u32(&rng), reservoirCapacityNanolitres: u32(&rng), lowReservoirThresholdNanolitres: u32(&rng),
                reservoirDrug: prescription.drug, reservoirConcentrationNanogramsPerMillilitre: prescription.concentrationNanogramsPerMillilitre,
                infusionState: InfusionState.allCases.randomElement(using: &rng) ?? .stopped,
                prescription: prescription, prescriptionHash: prescription.hash,
                stagedHash: Bool.random(using: &rng) ? hash(&rng) : nil,
                activeAlarms: (0..<Int.random(in: 0...16, using: &rng)).map { _ in PumpAlarm(rawValue: UInt16.random(in: 0...UInt16.max, using: &rng)) },
                lastChangeUTCSeconds: utcSeconds(&rng),
                recentCommands: (0..<Int.random(in: 0...8, using: &rng)).map { _ in
                    CommandRecordEntry(commandId: commandId(&rng), opcode: .startBolus, status: 0, utcSeconds: 1)
                },
                fluidPath: randomFluidPath(&rng)))
        case 2:
            let prescription = randomPrescription(&rng)
            return .prescription(PrescriptionReport(prescription: prescription, hash: prescription.hash))
        case 3: return .staged(StageReceipt(commandId: id, stagedHash: hash(&rng)))
        case 4:
            let opcode = PumpOpcode.allCases.filter { $0.changesState && $0 != .stagePrescription && $0 != .refillBegin }
                .randomElement(using: &rng) ?? .stopInfusion
            return .executed(opcode, CommandReceipt(commandId: id, executedAtUTCSeconds: utcSeconds(&rng)))
        case 5: return .refillBegun(RefillBeginReport(commandId: id, expectedResidualNanolitres: u32(&rng), reservoirCapacityNanolitres: u32(&rng)))
        case 6:
            return .eventLog(EventLogPage(page: 1, pageCount: 2, totalEvents: u32(&rng), events: (0..<Int.random(in: 0...16, using: &rng)).map { _ in
                PumpEvent(index: u32(&rng), utcSeconds: utcSeconds(&rng),
                          code: UInt16.random(in: 0...UInt16.max, using: &rng), detail: u32(&rng))
            }))
        case 7: return .clock(time(&rng))
        case 8:
            let stored = Bool.random(using: &rng) ? PumpReply.executed(.startBolus, CommandReceipt(commandId: id, executedAtUTCSeconds: 5)).encoded : nil
            return .outcome(CommandOutcomeReport(commandId: id, storedReply: stored))
        default: return .sessionClosed
        }
    }
}
