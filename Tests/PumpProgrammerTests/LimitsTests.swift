import Foundation
import PumpSimulator
import StateFiles
import SystemPackage
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

extension SimulatedVisit {
    /// A simulated pump holding `prescription` (its drug and concentration
    /// in the reservoir), last changed `lastChangeAgo` seconds before the start.
    init(holding prescription: Prescription, reservoir: Int64 = 12_000_000, lastChangeAgo: Int64 = 8 * 86_400) throws {
        self.init()
        let profile = PumpProfile.rp20
        let wire = try WirePrescriptionMapping.wire(prescription, profile: profile)
        guard let drug = WireDrug(rawValue: prescription.drug.wireCode) else { throw ProgrammerError.input("no wire drug") }
        let concentration = prescription.concentration.baseValue
        let line = FluidLine(pathway: FineVolume(nanolitres: profile.internalPathwayVolume.baseValue),
                             catheter: FineVolume(nanolitres: Int64(wire.catheterVolumeNanolitres)), drug: drug.rawValue,
                             concentration: concentration)
        let mechanics = PumpMechanics(
            clock: Self.start, zoneOffset: 0, reservoir: FineVolume(nanolitres: reservoir), reservoirConcentration: concentration,
            reservoirDrug: drug.rawValue, line: line, schedule: .stopped,
            lowReservoirThreshold: FineVolume(nanolitres: profile.defaultLowReservoirAlarm.baseValue))
        let pump = SimulatedPump(identity: .demo(model: profile.model), profile: profile, mechanics: mechanics, drug: drug,
                                 prescription: wire, lastChange: Self.start - lastChangeAgo)
        transport.with { $0.pump = pump }
    }

    /// A programmer of the same pump from another, empty state directory
    /// (another laptop, or a wiped one).
    func programmerWithAFreshStateDirectory(policy: ClinicPolicy? = nil) async throws -> Programmer {
        let connection = try await PumpConnection.open(
            transport: transport, keyring: PumpKeyring(anySerial: PumpIdentity.demoKey),
            policy: RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2))
        let clock = self.clock
        let context = ProgrammerContext(
            stateDirectory: StateDirectory(path: FilePath(try temporary.subfolder("fresh-" + UUID().uuidString))), operatorName: "tech.b", policy: try policy ?? ClinicPolicy.shippedDefaults(),
            simulated: true, now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) })
        return try await Programmer(connection: connection, context: context)
    }
}

/// The drug library's limits for every drug, each one of the issue's
/// reproductions on the simulated pump, through the whole pipeline.
@Suite struct LimitsTests {
    static func continuous(_ drug: Drug, _ concentration: Concentration, _ dose: DoseRate, indication: Indication = .pain,
                           tolerance: OpioidTolerance? = nil) -> Prescription {
        Prescription(drug: drug, concentration: concentration, indication: indication, mode: .continuous(dailyDose: dose),
                     catheter: .volume(.uL(260)), opioidTolerance: tolerance)
    }

    static func stopped(_ drug: Drug, _ concentration: Concentration, indication: Indication = .pain) -> Prescription {
        Prescription(drug: drug, concentration: concentration, indication: indication, mode: .stopped, catheter: .volume(.uL(260)))
    }

    static let reason = "ordered by the consultant, documented in the notes"

    // MARK: Boluses

    @Test func aTenMilligramMorphineBolusIsRefused() async throws {
        let visit = try SimulatedVisit(holding: Self.continuous(.morphine, .mgPerML(10), .mgPerDay(5), tolerance: .tolerant))
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(
            kind: .therapeutic, dose: .mg(10), duration: .minutes(30), opioidTolerance: .tolerant)))
        #expect(plan.findings.errors.map(\.code).contains(.bolusAboveHardMax))
        let message = plan.findings.errors.first { $0.code == .bolusAboveHardMax }?.message ?? ""
        // The pump's prescription was not programmed here as opioid-tolerant,
        // so the bolus's "tolerant" cannot loosen it: the naive 0.5 mg applies.
        #expect(message.contains("10mg") && message.contains("0.5mg"), "morphine is worded in mg: \(message)")
        #expect(message.contains("not recorded as declared opioid-tolerant"))
        let overrides = plan.findings.findings.map { Override(code: $0.code, reason: Self.reason) }
        await #expect(throws: ProgrammerError.self) { _ = try await programmer.preflight(plan, overrides: overrides) }
        #expect(visit.transport.with { $0.pump.mechanics.bolus } == nil)
    }

    @Test func aHundredMicrogramZiconotideBolusIsRefused() async throws {
        let visit = try SimulatedVisit(holding: Self.continuous(.ziconotide, .mcgPerML(100), .mcgPerDay(5)))
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(100), duration: .minutes(30))))
        let errors = plan.findings.errors.map(\.code)
        #expect(errors.contains(.bolusAboveHardMax))
        // 5 mcg/day basal + 100 mcg is above the 19.2 mcg/day maximum too.
        #expect(errors.contains(.bolusCumulativeAboveHardMax))
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        }
        #expect(visit.transport.with { $0.pump.mechanics.bolus } == nil)
    }

    @Test func fiveBaclofenBolusesInAnHourAreStoppedAtTheSecond() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(200), duration: .minutes(10))
        let first = try await programmer.plan(BolusCommand(request: request))
        #expect(first.findings.errors.isEmpty)
        #expect(Set(first.findings.warnings.map(\.code)) == [.bolusAboveSoftMax, .bolusPer24hAboveSoftMax])
        let sameOverride = first.findings.warnings.map { Override(code: $0.code, reason: Self.reason) }
        _ = try await programmer.execute(first, overrides: sameOverride, confirmation: .flag(yes: true))
        var refused = 0
        for _ in 2...5 {
            visit.clock.advance(12 * 60)
            // A new session each time (the pump forgets one idle for 2 minutes).
            let programmer = try await visit.programmer()
            let again = try await programmer.plan(BolusCommand(request: request))
            // 200 now + 200 the pump gave is above 200 mcg of boluses in 24 h.
            #expect(again.findings.errors.map(\.code) == [.bolusPer24hAboveHardMax])
            if await failure({ try await programmer.execute(again, overrides: sameOverride, confirmation: .flag(yes: true)) }) != nil {
                refused += 1
            }
        }
        #expect(refused == 4)
        visit.clock.advance(3600)
        visit.transport.with { $0.catchUp(hostNow: visit.clock.now()) }
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 1)
    }

    @Test func aFreshStateDirectoryStillCountsThePumpsBoluses() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(150), duration: .minutes(10))
        let first = try await programmer.plan(BolusCommand(request: request))
        _ = try await programmer.execute(first, overrides: first.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        visit.clock.advance(3600)
        let elsewhere = try await visit.programmerWithAFreshStateDirectory()
        let second = try await elsewhere.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(100), duration: .minutes(10))))
        // The pump's event log holds the first bolus, whatever the state directory.
        #expect(second.findings.errors.map(\.code) == [.bolusPer24hAboveHardMax])
        #expect(second.findings.errors.first?.message.contains("1 earlier bolus of 150mcg") == true)
        // A day later it has left the window.
        visit.clock.advance(86_400)
        let tomorrow = try await visit.programmerWithAFreshStateDirectory().plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(100), duration: .minutes(10))))
        #expect(tomorrow.findings.findings.isEmpty)
    }

    // MARK: Flex steps

    static func flex(_ steps: [(String, String)], base: String = "2000mcg/mL") throws -> Prescription {
        let list = steps.map { #"{"start":"\#($0.0)","dose_rate":"\#($0.1)"}"# }.joined(separator: ",")
        return try prescription(#"{"drug":"baclofen","concentration":"\#(base)","indication":"spinal","mode":"flex","cycle":"daily","steps":[\#(list)],"catheter":{"volume":"0.26mL"}}"#)
    }

    @Test func aTenMinuteFlexStepAt24000McgPerDayIsRefused() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let pending = try Self.flex([("00:00", "300mcg/day"), ("12:00", "24000mcg/day"), ("12:10", "300mcg/day")])
        let plan = try await programmer.review(pending)
        // The day's total is only 462.5 mcg; the step's rate is twelve times the daily maximum.
        #expect(plan.findings.errors.map(\.code) == [.stepRateAboveHardMax])
        #expect(plan.findings.errors.first?.message.contains("12:00") == true)
        let error = await failure {
            try await programmer.execute(plan, overrides: plan.findings.findings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        }
        guard case .refusedByPolicy? = error else {
            Issue.record("a step above the step-rate hard maximum must be refused, not \(String(describing: error))")
            return
        }
        #expect(visit.transport.with { $0.pump.prescription.mode } == .continuous)
    }

    @Test func a4000For400TypoInAThirtyMinuteStepIsFound() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let typo = try Self.flex([("00:00", "400mcg/day"), ("12:00", "4000mcg/day"), ("12:30", "400mcg/day")])
        let plan = try await programmer.review(typo)
        // The average (475 mcg/day) is within titration of the current 400; the step is not.
        #expect(plan.findings.errors.map(\.code) == [.stepRateAboveHardMax])
        #expect(plan.findings.warnings.map(\.code).contains(.stepProbableDecimalError))
        #expect(plan.findings.warnings.first { $0.code == .stepProbableDecimalError }?.message.contains("at 12:00 400mcg/day becomes 4000mcg/day") == true)
        // Under a clinic policy whose step ceiling is out of the way, the
        // decimal and titration findings still hold the typo.
        let intended = try Self.flex([("00:00", "400mcg/day"), ("12:00", "480mcg/day"), ("12:30", "400mcg/day")])
        let fine = try await programmer.review(intended)
        #expect(fine.findings.findings.isEmpty)
    }

    // MARK: Start dose and titration

    @Test func ziconotideCannotStartAt19Point2() async throws {
        let visit = try SimulatedVisit(holding: Self.stopped(.ziconotide, .mcgPerML(100)))
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(Self.continuous(.ziconotide, .mcgPerML(100), .ngPerDay(19_200)))
        #expect(plan.findings.errors.map(\.code) == [.startAboveHardMax])
        let start = try await programmer.review(Self.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(2_400)))
        #expect(!start.findings.errors.map(\.code).contains(.startAboveHardMax))
    }

    @Test func ziconotideStepsOf2Point4InAMinuteAreFound() async throws {
        let visit = try SimulatedVisit(holding: Self.stopped(.ziconotide, .mcgPerML(25)))
        let programmer = try await visit.programmer()
        func dose(_ ng: Int64) -> Prescription { Self.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(ng)) }
        let start = try await programmer.review(dose(2_400))
        #expect(start.findings.findings.isEmpty)
        _ = try await programmer.execute(start, overrides: [], confirmation: .typed("2.4mcg/day"))
        var codes: [[FindingCode]] = []
        for ng: Int64 in [4_800, 7_200] {
            visit.clock.advance(20)
            let plan = try await programmer.review(dose(ng))
            codes.append(plan.findings.findings.map(\.code))
            _ = try await programmer.execute(plan, overrides: plan.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                             confirmation: .flag(yes: true))
        }
        // Each increase within 48 h of the last needs its own reason.
        #expect(codes == [[.titrationWithin24h], [.titrationWithin24h]])
        visit.clock.advance(20)
        let fourth = try await programmer.review(dose(9_600))
        #expect(fourth.findings.findings.map(\.code) == [.titrationWithin24h, .titrationTooManyIncreases])
        #expect(fourth.findings.findings.last?.message.contains("increase 4 within 7d") == true)
    }

    @Test func aFreshStateDirectoryStillCountsThePumpsIncreases() async throws {
        let visit = try SimulatedVisit(holding: Self.stopped(.ziconotide, .mcgPerML(25)))
        for ng: Int64 in [2_400, 4_800, 7_200] {
            let programmer = try await visit.programmer()
            let plan = try await programmer.review(Self.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(ng)))
            _ = try await programmer.execute(plan, overrides: plan.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                             confirmation: .flag(yes: true))
            // Three days apart: no minimum-interval finding, only the count.
            visit.clock.advance(2 * 86_400 + 60)
        }
        let elsewhere = try await visit.programmerWithAFreshStateDirectory()
        let fourth = try await elsewhere.review(Self.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(9_600)))
        #expect(fourth.findings.findings.map(\.code) == [.titrationTooManyIncreases])
    }

    @Test func morphine2To10MgPerDayIsFound() async throws {
        let visit = try SimulatedVisit(holding: Self.continuous(.morphine, .mgPerML(10), .mgPerDay(2), tolerance: .tolerant))
        let programmer = try await visit.programmer()
        // Undeclared tolerance: the opioid-naive limit (1 mg/day) refuses it.
        let naive = try await programmer.review(Self.continuous(.morphine, .mgPerML(10), .mgPerDay(10)))
        #expect(naive.findings.errors.map(\.code) == [.doseAboveHardMax])
        #expect(naive.findings.errors.first?.message.contains("opioid_tolerance") == true)
        // Declared tolerant: +400% is far above the titration limit per change.
        let tolerant = try await programmer.review(Self.continuous(.morphine, .mgPerML(10), .mgPerDay(10), tolerance: .tolerant))
        #expect(tolerant.findings.errors.isEmpty)
        #expect(tolerant.findings.warnings.map(\.code) == [.titrationAboveLimit])
    }

    @Test func stoppedTo1000McgBaclofenIsAStartDose() async throws {
        let visit = try SimulatedVisit(holding: Self.stopped(.baclofen, .mcgPerML(2000), indication: .spinal))
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(1000), indication: .spinal))
        #expect(plan.findings.errors.map(\.code) == [.startAboveHardMax])
        let gentle = try await programmer.review(Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(300), indication: .spinal))
        #expect(gentle.findings.findings.map(\.code) == [.startAboveSoftMax])
    }

    // MARK: Indications

    @Test func painIsRefusedForBaclofen() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(400), indication: .pain))
        #expect(plan.findings.errors.map(\.code) == [.indicationNotAllowed])
        #expect(plan.findings.errors.first?.message.contains("allowed: spinal, cerebral") == true)
    }

    @Test func cerebralToSpinalDoesNotLoosenTitration() async throws {
        let visit = try SimulatedVisit(holding: Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(400), indication: .cerebral))
        let programmer = try await visit.programmer()
        // +25%: within the spinal 30%, above the cerebral 15% the patient was titrated under.
        let plan = try await programmer.review(Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(500), indication: .spinal))
        #expect(plan.findings.warnings.map(\.code) == [.indicationChanged, .titrationAboveLimit])
        #expect(plan.findings.warnings.first?.message.contains("from 15% to 30%") == true)
        let spinalAll = try await programmer.review(Self.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(400), indication: .spinal))
        #expect(spinalAll.findings.warnings.map(\.code) == [.indicationChanged])
    }
}

/// The policy in force: never looser than the shipped library, and named
/// in every record.
@Suite struct PolicyInForceTests {
    @Test func aLoosenedPolicyIsRefusedBeforeAnythingIsPlanned() async throws {
        var loose = try ClinicPolicy.shippedDefaults()
        loose.drugs[0].dailyDose = Limits(softMax: .mcgPerDay(1000), hardMax: .mcgPerDay(200_000))
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(policy: loose)
        let error = await failure { try await programmer.review(try prescription(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"4500mcg/day"}"#)) }
        guard case .policy(.loosensShippedCeiling(.baclofen, "daily_dose.hard_max", _, "2000mcg/day"))? = error else {
            Issue.record("a policy above the shipped ceiling must be refused, not \(String(describing: error))")
            return
        }
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func everyAuditRowAndReportNamesThePolicyInForce() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        let outcome = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        let rows = try visit.audit().entries()
        #expect(rows.count > 3)
        let shipped = PolicyIdentity.shipped
        #expect(shipped.sha256.count == 64)
        #expect(rows.allSatisfy { $0.parameters["policy_sha256"] == shipped.sha256 && $0.parameters["policy"] == shipped.name })
        let markdown = try #require(outcome.reportPaths.first { $0.hasSuffix(".md") })
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        #expect(text.contains("| Policy | \(shipped.name) (sha256 \(shipped.sha256)) |"))
    }
}
