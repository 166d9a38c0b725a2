import ArgumentParser
import Foundation
import StateFiles
import SystemPackage
import WandProtocol
import PumpProgrammer
import Therapy

struct Interrogate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interrogate",
        abstract: "Read the pump: identity, clock, battery, reservoir, drug, prescription, alarms and the alarm date.",
        discussion: """
            Any command left UNCERTAIN by a lost reply is resolved first, by asking the pump what became of it. If it cannot be resolved, the status is still shown and interrogate exits 75 (UNCERTAIN). The low-reservoir alarm date is what the scheduler needs for the refill appointment.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @Option(name: .customLong("save-prescription"), help: ArgumentHelp(
        "Also write the pump's prescription as a prescription file (for a pump replacement: program it into the new pump with 'pumpctl program FILE', which reviews it against the new pump).",
        valueName: "file"))
    var savePrescription: String?

    func run() async throws {
        // Refused before the pump is read: an existing file is never replaced.
        if let path = savePrescription, FileManager.default.fileExists(atPath: path) {
            throw Output.fail(CommandFailure(status: .usage, message: "\(path) exists; give a new file for --save-prescription. Nothing was sent to the pump."))
        }
        let (status, resolution, others) = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            // The read also records how any bolus it finds ended, for the clinical record (FHIR export).
            let (status, resolution) = try await programmer.interrogateRecordingBolusEnds()
            return (status, resolution, await programmer.otherPumpsPending())
        }
        if let path = savePrescription {
            // The therapy as the pump holds it (its catheter included), in
            // the file format program reads; the unit is the library's.
            let bytes = Array(status.prescription.encodedFile(massUnit: status.doseUnit))
            do {
                try AtomicFile.write(bytes, to: FilePath(path), permissions: [.ownerRead, .ownerWrite])
            } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: "The prescription could not be written to \(path): \(error). Nothing was sent to the pump."))
            }
        }
        if global.json {
            try Output.json(status)
        } else {
            PumpText.print(status, resolution: resolution)
            if let path = savePrescription { Output.line("Prescription of pump \(status.serial) written to \(path).") }
            for other in others {
                Output.line("Also pending, for pump \(other.pumpSerial): \(other.command) (command \(other.commandID)); hold the wand over that pump and run 'pumpctl interrogate' to resolve it.")
            }
        }
        // An unknown outcome is never a success: scripts must see it. Nor is
        // a pump that does not deliver (the uncertain command comes first:
        // it is what must be resolved before anything else).
        if status.unresolvedCommand != nil { throw ExitStatus.uncertain.exitCode }
        if status.notDelivering != nil { throw ExitStatus.notDelivering.exitCode }
        if status.reservoirContentsUnknown { throw ExitStatus.reservoirUnknown.exitCode }
    }
}

/// Text output shared by the pump commands.
enum PumpText {
    static func print(_ status: PumpStatus, resolution: Programmer.Resolution? = nil) {
        if status.simulated { Output.line("SIMULATED PUMP (not a patient)") }
        // A pump that does not deliver says so first, with what to do.
        if let reason = status.notDelivering {
            Output.line(PumpStatus.notDeliveringSentence(reason))
            for line in status.notDeliveringAdvice { Output.line(line) }
        } else if status.reservoirContentsUnknown {
            // Delivering, from a reservoir that may be empty (alarm 0x0008):
            // said first, as loudly as not delivering.
            Output.line(PumpStatus.reservoirUnknownSentence)
            for line in status.reservoirUnknownAdvice { Output.line(line) }
        }
        if let resolution {
            Output.line("Resolved: \(resolution.command.command) (command \(resolution.command.commandID)): \(words(resolution)).")
        }
        if let unresolved = status.unresolvedCommand {
            Output.line("UNRESOLVED COMMAND: \(unresolved.command) (command \(unresolved.commandID)) to pump \(unresolved.pumpSerial); its outcome is unknown. Keep the wand over that pump and run 'pumpctl interrogate' again.")
        }
        for alarm in status.alarms {
            Output.line("ALARM: \(alarm.name)" + (alarm.stopsDelivery ? " (delivery stopped)" : ""))
        }
        if status.infusion == .refillInProgress {
            Output.line("REFILL IN PROGRESS: delivery is paused. Finish it (pumpctl refill ...) or cancel it (pumpctl refill --cancel).")
        }
        let zone = Screen.shared.zone
        if abs(status.clockDriftSeconds) > ClockCheck.toleranceSeconds {
            Output.line("WARNING: the pump's clock is \(Shown.drift(seconds: status.clockDriftSeconds)) of this computer's (more than the \(Shown.duration(seconds: ClockCheck.toleranceSeconds)) tolerated): check it and run 'pumpctl clock --sync'.")
        }
        let drug = status.drug
        let rows: [[String]] = [
            ["Pump", "\(status.serial) (\(status.model), firmware \(status.firmware))"],
            ["Clock", "\(zone.dateTime(status.clock)) (\(Shown.drift(seconds: status.clockDriftSeconds)) of this computer)"],
            ["Battery", "\(status.battery == .endOfService ? "END OF SERVICE" : PumpStatus.batteryName(status.battery)), \(status.batteryMillivolts) mV"],
            ["Drug", "\(drug.rawValue) \(Shown.concentration(status.concentration, drug: drug))"],
            ["Mode", "\(status.prescription.mode.name), \(infusionWords(status.infusion))"],
            ["Daily dose", status.reservoirContentsUnknown
                ? "UNKNOWN: the pump runs \(Shown.doseRate(status.prescribedDailyDose, drug: drug)) but its reservoir may be empty"
                : status.notDelivering != nil
                ? "NONE DELIVERED; prescribed \(Shown.doseRate(status.prescribedDailyDose, drug: drug))"
                : status.deliveringFromTheLine.map { line in
                    "NOW \(Shown.doseRate(line.dailyDose, drug: line.drug)) of \(line.drug.rawValue) from the line; then \(Shown.doseRate(status.dailyDose, drug: drug)) of \(drug.rawValue)"
                } ?? "\(Shown.doseRate(status.dailyDose, drug: drug)) (\(Shown.volumeRate(status.rate)))"],
            ["Reservoir", status.reservoirContentsUnknown
                ? "UNKNOWN after an abandoned refill (the pump's estimate \(Shown.volume(status.reservoirVolume)) may be wrong: it may be empty) of \(Shown.volume(status.reservoirCapacity))"
                : "\(Shown.volume(status.reservoirVolume)) of \(Shown.volume(status.reservoirCapacity)); alarm at \(Shown.volume(status.lowReservoirThreshold))"],
            ["Line", lineWords(status)],
            ["Last change", zone.dateTime(status.lastChange)],
            ["Prescription", String(status.prescriptionHash.description.prefix(16))],
        ] + status.steps.map { ["Step \($0.start)", "\($0.doseRate.formatted(in: status.doseRateUnit)) (\($0.rate))"] }
          + [["Patient bolus", status.prescription.patientBolus.map {
                "\($0.dose.formatted(in: status.doseUnit)) over \($0.duration), lockout \($0.lockout), at most \($0.maximumPer24h) per 24h"
            } ?? "none"]]
        Output.line(Output.table(header: ["", ""], rows: rows).split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n"))
        if let transition = status.lineTransition {
            for line in Shown.transition(transition, reservoir: status.reservoirContents, time: zone.dateTime) { Output.line(line) }
        }
        if let bolus = status.bolusInProgress {
            Output.line("A \(bolusWords(bolus.kind)) bolus is running: \(Shown.volume(.nL(Int64(bolus.remainingNanolitres)))) to go, about \(Shown.duration(seconds: Int64(bolus.remainingSeconds))); the alarm date counts it.")
        }
        Output.line("")
        Output.line(zone.schedulerSentence(status))
    }

    /// The fluid path in one cell: volumes, and what the line holds.
    static func lineWords(_ status: PumpStatus) -> String {
        let path = status.fluidPath
        let contents = path.segments.map { segment -> String in
            switch segment.contents {
            case .noDrug: return "\(Shown.bolusVolume(segment.volume)) NO DRUG"
            case let .drug(drug, held): return "\(Shown.bolusVolume(segment.volume)) \(drug.rawValue) \(Shown.concentration(held, drug: drug))"
            }
        }
        return "\(Shown.volume(path.volume)) (pathway \(Shown.volume(path.pathway)), catheter \(Shown.volume(path.catheter))): "
            + (path.segments.count == 1 ? "all " : "from the tip, ") + contents.joined(separator: ", then ")
    }

    static func bolusWords(_ kind: WireFluidPath.BolusKindInProgress) -> String {
        switch kind {
        case .therapeutic: "therapeutic"
        case .bridge: "bridge"
        case .prime: "priming"
        case .patient: "patient"
        }
    }

    /// The infusion state as the screen says it (STOPPED stands out).
    static func infusionWords(_ state: InfusionState) -> String {
        switch state {
        case .infusing: return "infusing"
        case .stopped: return "STOPPED"
        case .bolusInProgress: return "bolus in progress"
        case .refillInProgress: return "refill in progress"
        }
    }

    static func words(_ resolution: Programmer.Resolution) -> String {
        var text: String
        switch resolution.fate {
        case .executed: text = "the pump had carried it out"
        case .refused(let refusal): text = "the pump had refused it (\(refusal.meaning)); it changed nothing"
        case .neverReceived:
            text = resolution.recordMayHaveAgedOut
                ? "the pump has no record of it, but its record no longer reaches back to when it was sent: it may have been carried out and forgotten; read the event log (pumpctl log) before sending it again"
                : "the pump never received it"
        case .notSent: text = "it was never sent"
        case .unknown: text = "its outcome is still unknown"
        }
        switch resolution.verified {
        case true?: text += "; read back, the pump holds the prescription it wrote"
        case false?: text += "; read back, the pump holds ANOTHER prescription than it wrote: review it before anything else"
        case nil: break
        }
        return text
    }

    /// After a change: the pump as read after it, or what is known when
    /// that read failed.
    static func printAfter(_ result: ChangeResult?, global: GlobalOptions) throws {
        guard let result else { return }
        if global.json {
            if let after = result.after { try Output.json(after) }
            return
        }
        if result.plan.unchanged { Output.line("The pump already is so. No change was sent to the pump.") }
        if let after = result.after {
            print(after)
        } else {
            Output.line("Carried out; the pump could not be read afterwards: run 'pumpctl interrogate'.")
        }
    }
}
