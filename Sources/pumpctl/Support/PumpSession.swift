import ArgumentParser
import Foundation
import PumpProgrammer
import PumpSimulator
import StateFiles
import SystemPackage
import Therapy
import WandLink
import WandProtocol
import WandTrace

/// Opens a programming session with the pump (through the wand chosen by
/// `--wand`, or the simulator with `--simulator`), runs `body`, closes the
/// session, and turns failures into the documented exit statuses.
enum PumpSession {
    static func run<T>(_ global: GlobalOptions, _ session: SessionOptions, anchoringAudit: Bool = true,
                       _ body: (Programmer) async throws(ProgrammerError) -> T) async throws -> T {
        let directory = try global.stateDirectory()
        let operatorName = try global.resolvedOperator()
        let secondOperator = try global.checkedSecondOperator(session.secondOperator, operatorName: operatorName)
        let expectedPump = try PatientSelection.expectedPump(session, directory: directory)
        let (policy, policyIdentity) = try loadPolicy(session.policyFile)
        // One pumpctl at a time on a state directory, for the whole session:
        // a second one would interleave pending records and audit rows.
        let lock: StateDirectoryLock
        do {
            lock = try StateDirectoryLock.acquire(directory, command: "pumpctl " + CommandLine.arguments.dropFirst().prefix(3).joined(separator: " "))
        } catch {
            throw Output.fail(CommandFailure.stateDirectory(error, tail: "Nothing was sent to the pump."))
        }
        defer { lock.release() }
        // The key comes first: a missing key file or an empty keyring is
        // found before any wand is opened.
        var keyring: PumpKeyring?
        var demoKey = false
        var keyStore: PumpKeyStore?
        if !global.simulator {
            if let keyFile = global.keyFile {
                // Bring-up: one key file, for whatever pump is in range.
                do { keyring = try PumpKeyring.load(keyFile: FilePath(keyFile)) } catch {
                    throw Output.fail(failure(error, effect: .nothingSent))
                }
                // The demo key is published: whatever answers to it is wandsim
                // or a bench pump, never a patient's, and the output says so.
                if keyring?.holds(PumpIdentity.demoKey) == true {
                    demoKey = true
                    Output.note("SIMULATED or bench pump: this key file holds the published DEMO key, which no patient's pump uses.")
                }
            } else {
                let store = try global.keyStore()
                do { keyring = try store.keyring(allowDemo: session.allowDemoKeys) } catch {
                    throw Output.fail(Keys.storeFailure(error, tail: "The keyring was not used. Nothing was sent to the pump."))
                }
                if keyring?.isEmpty == true {
                    throw Output.fail(CommandFailure(status: .usage, message:
                        "The keyring \(store.folder) holds no pump key: import the clinic's bundle (pumpctl keys import BUNDLE), or give a key file with --key-file (or use --simulator for the simulated pump). Nothing was sent to the pump."))
                }
                keyStore = store
            }
        }
        // The configuration directory (the audit key beside the keyring)
        // is checked before any byte reaches the radio: a folder another
        // user could change is refused with nothing sent, as the state
        // directory is, rather than found unusable once a session is open.
        if let configuration = ConfigurationDirectory.resolve(environment: ProcessInfo.processInfo.environment) {
            do { try configuration.create() } catch {
                throw Output.fail(CommandFailure(status: .permissionDenied,
                                                 message: "The configuration directory cannot be used: \(error.description) Nothing was sent to the pump.",
                                                 code: "unsafe_configuration_directory"))
            }
        }
        // The audit log must still agree with its head, under its own key,
        // before any wand is opened: a cut or re-headed log, or one whose
        // key is gone, is not written to (a new head would seal the damage
        // in), and nothing is sent.
        do { try AuditLog(directory: directory).checkBeforeWriting() } catch {
            throw Output.fail(Audit.writeCheckFailure(error))
        }
        let line = try await WandLine.open(global)
        let transport = line.transport
        guard let keyring = keyring ?? line.simulatedPumpKey.map({ PumpKeyring(anySerial: $0) }) else {
            await line.close()
            throw Output.fail(CommandFailure(status: .internalError, message: "No pump key is at hand."))
        }
        var context = ProgrammerContext(
            stateDirectory: directory, operatorName: operatorName, secondOperator: secondOperator,
            policy: policy, policyIdentity: policyIdentity,
            // A pump that answers to the DEMO key is test data: its audit rows
            // are marked simulated and it is exported like a --simulator visit.
            simulated: global.simulator || demoKey, expectedPumpSerial: expectedPump)
        // The crash tests stop a simulated visit at a chosen step
        // (PUMPWAND_SIMULATOR_CRASH_AT=after-send:2 is the second
        // state-changing command, just after its reply); a real pump session
        // never reads it.
        if global.simulator, let spec = ProcessInfo.processInfo.environment["PUMPWAND_SIMULATOR_CRASH_AT"] {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            context.crashPoint = ProgrammerContext.CrashPoint(rawValue: parts[0])
            context.crashAtCommand = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        }
        context.clinicZone = Screen.shared.zone.zone
        context.interrupted = { Interruption.requested }
        context.inFlight = { Interruption.inFlight($0) }
        Interruption.install()
        let result: Result<T, ProgrammerError>
        var effect = PumpEffect.nothingSent
        do {
            let connection = try await PumpConnection.open(transport: transport, keyring: keyring,
                                                           interrupted: { Interruption.requested })
            // A key from a DEMO bundle (allowed by --allow-demo-keys) is test
            // data: marked as the published demo key is.
            let openedSerial = await connection.pumpSerial
            let openedRole = await connection.keyRole
            if keyring.demoSerials.contains(openedSerial) {
                context.simulated = true
                Output.note("SIMULATED or bench pump: pump \(openedSerial)'s key came from a DEMO-signed bundle (--allow-demo-keys); no patient's pump uses it.")
            }
            // The simulated pump's key is known outright: an unacknowledged
            // training re-key is settled by comparing it.
            if global.simulator, let simulatedKey = line.simulatedPumpKey, let store = try? global.keyStore() {
                do {
                    if let note = try KeyRotation.settle(store, serial: openedSerial, pumpHolds: simulatedKey) { Output.note(note) }
                } catch {
                    Output.note("WARNING: the keyring could not be updated after the session opened: \(error.description)")
                }
            }
            if let keyStore {
                do {
                    if let note = try KeyRotation.settle(keyStore, serial: openedSerial, opened: openedRole) {
                        Output.note(note)
                    }
                } catch {
                    Output.note("WARNING: the keyring could not be updated after the session opened: \(error.description)")
                }
            }
            let programmer = try await Programmer(connection: connection, context: context)
            do {
                result = .success(try await body(programmer))
            } catch {
                result = .failure(error)
            }
            effect = await programmer.effect
            // The pump witnesses the audit head once, at the end; a failure
            // is a warning and never changes what the command reports.
            switch await programmer.close(anchoring: anchoringAudit) {
            case .failed(let why):
                Output.note("WARNING: the audit head was not recorded in the pump: \(why). The command's result above stands; the next session records it.")
            case .headNotWritten(_, let why):
                Output.note("WARNING: the audit head file could not be written: \(why). The command's result above stands; `pumpctl audit verify` reports the newest rows as unsealed until the next command seals them.")
            case .sentWithClose, .skipped:
                break
            }
        } catch {
            result = .failure(error)
        }
        await line.close()
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            throw Output.fail(failure(error, effect: effect))
        }
    }

    /// The policy in force and its identity (name, SHA-256 of its bytes).
    /// A file that loosens a shipped ceiling is refused here, before any
    /// wand is opened.
    static func loadPolicy(_ path: String?) throws -> (ClinicPolicy, PolicyIdentity) {
        do {
            guard let path else { return (try ClinicPolicy.shippedDefaults(), PolicyIdentity.shipped) }
            let bytes = try AtomicFile.read(FilePath(path), limit: ClinicPolicy.maximumFileBytes)
            let policy = try ClinicPolicy.load(Data(bytes))
            return (policy, PolicyIdentity.of(bytes: bytes, name: policy.name))
        } catch let error as PolicyFileError {
            throw Output.fail(CommandFailure(status: .usage, message: "The policy file cannot be used: \(error.description)"))
        } catch let error as StateFileError {
            throw Output.fail(CommandFailure.unreadableFile(error, message: "The policy file cannot be read: \(error.description)", unsafeCode: "unsafe_policy_file"))
        }
    }

    /// The exit status and message of a failed command: what went wrong,
    /// then what the pump was left in, as the programmer's ledger says.
    static func failure(_ error: ProgrammerError, effect: PumpEffect) -> CommandFailure {
        let changed = !effect.leftAsBefore
        let status: ExitStatus = switch error {
        case .input: .usage
        case .refusedByPolicy, .pumpRefused, .staleReview: .refusedByPolicy
        case .notFound, .pumpNotInRange, .wrongPump: .notFound
        // 74 is a promise that the command did not take effect: only when
        // the ledger shows nothing was carried out.
        case .communication, .sessionTakenOver: changed ? .changedNotVerified : .communicationFailure
        case .notVerified: .changedNotVerified
        case .uncertain, .unresolved: .uncertain
        case .deviceFault: .deviceFault
        case .storage: .internalError
        case .policy: .usage
        case .permissionDenied: .permissionDenied
        case .cancelled: .cancelled
        }
        var message = error.description
        switch (error, effect) {
        // UNCERTAIN and UNRESOLVED already say the outcome is unknown; what
        // else this session carried out is still told.
        case (.uncertain, .unknown(_, let executed)) where !executed.isEmpty:
            message += " " + PlanText.sentence(effect)
        case (.uncertain, _), (.unresolved, _):
            break
        default:
            // The ledger says what the pump was left in; a fixed "nothing was
            // sent" a library message brought is dropped so it is said once.
            message = PlanText.withoutFixedNothingSent(message) + " " + PlanText.sentence(effect)
        }
        let code: String = switch error {
        case .input: "input"
        case .refusedByPolicy: "refused_by_policy"
        case .pumpRefused: "pump_refused"
        case .notFound: "not_found"
        case .pumpNotInRange: "pump_not_in_range"
        case .communication: "communication_failure"
        case .uncertain: "uncertain"
        case .unresolved: "unresolved"
        case .notVerified: "not_verified"
        case .staleReview: "stale_review"
        case .cancelled: "cancelled"
        case .sessionTakenOver: "session_taken_over"
        case .wrongPump: "wrong_pump"
        case .deviceFault: "device_fault"
        case .storage: "storage"
        case .permissionDenied: "permission_denied"
        case .policy: "policy"
        }
        return CommandFailure(status: status, message: message, code: code, pump: pumpState(effect))
    }

    /// The `pump` of a JSON error, from the programmer's ledger only.
    static func pumpState(_ effect: PumpEffect) -> CommandFailure.PumpState {
        switch effect {
        case .nothingSent: return .nothingSent
        case .unchanged: return .unchanged
        case .changed: return .changed
        case .unknown: return .unknown
        }
    }

    static func failure(_ error: WandSelectionError) -> CommandFailure {
        switch error {
        case .invalidArgument: return CommandFailure(status: .usage, message: error.description)
        case .openFailed(.permissionDenied): return CommandFailure(status: .permissionDenied, message: error.description)
        case .openFailed(.busy), .openFailed(.io), .openFailed(.unplugged), .openFailed(.timedOut):
            return CommandFailure(status: .communicationFailure, message: error.description)
        default: return CommandFailure(status: .notFound, message: error.description)
        }
    }

    /// How the technician confirms: `--yes`, or typing at a terminal (an
    /// answer that does not fit `rule` is asked again, `Prompt`).
    /// Ctrl-C or end of input at the prompt cancels.
    static func confirmation(_ global: GlobalOptions, prompt: String, rule: ConfirmationRule) -> Confirmation {
        if Interruption.requested { return .interrupted }
        if global.yes { return .flag(yes: true) }
        guard isatty(STDIN_FILENO) == 1 else { return .flag(yes: false) }
        return Prompt.confirmation(prompt, rule: rule)
    }

    /// The one flow of every command that changes the pump: plan, show the
    /// plan and every finding, run every check, and only then prompt;
    /// execute, verify and report. Returns nil for a dry run.
    static func change(_ global: GlobalOptions, _ session: SessionOptions, _ command: some PumpCommand,
                       overrides: [Override], dryRun: Bool = false,
                       shown: @escaping @Sendable (ChangePlan) -> Void = { _ in }) async throws -> (ChangePlan, ChangeResult?) {
        try await run(global, session) { programmer throws(ProgrammerError) in
            let plan = try await programmer.plan(command)
            shown(plan)
            if !global.json { Output.note(PlanText.describe(plan, simulated: global.simulator, overrides: overrides)) }
            if dryRun { return (plan, nil) }
            _ = try await programmer.preflight(plan, overrides: overrides)
            let confirmation: Confirmation = plan.unchanged
                ? .flag(yes: true) : confirmation(global, prompt: PlanText.prompt(plan), rule: plan.confirmation)
            let result = try await programmer.execute(plan, overrides: overrides, confirmation: confirmation)
            if Interruption.requested {
                Output.note("Ctrl-C came after the change was sent: it was completed and recorded before stopping.")
            }
            return (plan, result)
        }
    }
}
