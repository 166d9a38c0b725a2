import ArgumentParser
import Foundation
import Glibc
import PumpProgrammer
import PumpSimulator
import StateFiles
import SystemPackage
import Therapy
import WandProtocol

/// `pumpctl keys import|list|remove|rotate|demo-bundle`: the keyring of
/// per-pump keys in the configuration directory (PumpProgrammer's
/// `PumpKeyStore`, `ProvisioningBundle`, `KeyRotation`). No key is ever
/// printed: only its id.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Import, list, remove and rotate the pump keys this computer holds (one per pump serial).",
        discussion: """
            Keys live in the configuration directory (--config-dir; default $PUMPWAND_CONFIG_DIR, else $XDG_CONFIG_HOME/pumpwand, else ~/.config/pumpwand) as keys/SERIAL.key, mode 0600, in folders of yours that no one else can write to. They come from the manufacturer's provisioning bundle, signed with its pinned Ed25519 key (docs/keys.md); a bundle signed by anything else, changed or cut short is refused whole. Keys from the published DEMO signer's bundles are for the simulator and bench pumps: a pump that is not --simulator is opened with them only with --allow-demo-keys. A lost or stolen laptop is revoked by rotating the key of every pump it held (pumpctl keys rotate SERIAL), and its old key then opens nothing, provided the rotation was done out of the thief's radio range (the handshake rests on the pump key alone: whoever holds the old key and is in range during the rotation visit can learn the new key). If the thief rotated a pump first, no key here opens it: the manufacturer's service re-provisions it (docs/keys.md).
            """,
        subcommands: [Import.self, List.self, Remove.self, Rotate.self, DemoBundle.self],
        defaultSubcommand: List.self)

    static func storeFailure(_ error: PumpKeyStoreError, tail: String) -> CommandFailure {
        switch error {
        case .file(let cause):
            switch cause {
            case _ where cause.isUnsafe:
                return CommandFailure(status: .permissionDenied, message: "\(error.description) \(tail)", code: "unsafe_keyring")
            default:
                return CommandFailure(status: .internalError, message: "\(error.description) \(tail)")
            }
        case .invalidSerial: return CommandFailure(status: .usage, message: "\(error.description) \(tail)")
        case .notFound: return CommandFailure(status: .notFound, message: "\(error.description) \(tail)")
        case .conflictingKey: return CommandFailure(status: .refusedByPolicy, message: "\(error.description) \(tail)", code: "conflicting_key")
        case .unsettledRekey: return CommandFailure(status: .refusedByPolicy, message: "\(error.description) \(tail)", code: "unsettled_rekey")
        case .serialCaseCollision:
            return CommandFailure(status: .refusedByPolicy, message: "\(error.description) \(tail)", code: "serial_case_collision")
        case .damaged, .tooManyKeys: return CommandFailure(status: .internalError, message: "\(error.description) \(tail)")
        }
    }

    /// The signer, as the pinned key that verified a bundle names it.
    static func signerText(demo: Bool) -> String {
        demo ? "published DEMO signer (pinned key \(Self.hex(ManufacturerSigner.demo.id)))"
            : "manufacturer's production signer (pinned key \(Self.hex(ManufacturerSigner.production.id)))"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import every pump key of a signed provisioning bundle (all of it, or nothing).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The bundle file (mode 0600: it holds keys).", valueName: "bundle"))
        var bundle: String

        func run() async throws {
            let store = try global.keyStore()
            _ = ProcessGuard.disableCoreDumps()
            var bytes: [UInt8]
            do { bytes = try AtomicFile.readSecret(FilePath(bundle), limit: ProvisioningBundle.maximumBytes) } catch {
                throw Output.fail(CommandFailure.unreadableFile(error, message: "The bundle cannot be read: \(error.description) Nothing was imported.",
                                                                unsafeCode: "unsafe_bundle_file"))
            }
            defer { ProcessGuard.wipe(&bytes) }
            var verified: ProvisioningBundle
            do { verified = try ProvisioningBundle(verifying: bytes) } catch {
                throw Output.fail(CommandFailure(status: .refusedByPolicy, message: "The bundle \(bundle) was refused: \(error.description). Nothing was imported.",
                                                 code: "bundle_refused"))
            }
            defer { verified.wipe() }
            let written: [String]
            do { written = try store.importBundle(verified, now: Int64(Date().timeIntervalSince1970)) } catch {
                throw Output.fail(Keys.storeFailure(error, tail: "Nothing was imported."))
            }
            let serials = verified.entries.map(\.serial)
            if global.json {
                try Output.json(ImportResult(bundleId: verified.bundleId, issuer: verified.issuer, signer: verified.signer.name,
                                             demo: verified.signer.isDemo, serials: serials, imported: written))
                return
            }
            if verified.signer.isDemo {
                Output.line("SIMULATED: this bundle is signed by the published DEMO signer; its keys protect nothing and are used only with --simulator or --allow-demo-keys.")
            }
            // The signer is named from the pinned key that verified the
            // bundle; the issuer text is the signer's own words, shown as such
            // (a DEMO bundle may call itself anything).
            Output.line("Bundle \(verified.bundleId), signed by the \(Keys.signerText(demo: verified.signer.isDemo)): \(serials.count) pump\(serials.count == 1 ? "" : "s").")
            Output.line("Issuer text (written by the signer\(verified.signer.isDemo ? ", which anyone can be: it proves nothing" : "")): \(verified.issuer)")
            Output.line("Imported \(written.count) key\(written.count == 1 ? "" : "s")" + (written.isEmpty ? "" : ": " + written.joined(separator: ", "))
                        + (written.count < serials.count ? " (\(serials.count - written.count) already held with the same key)" : "") + ".")
            Output.line("Keyring: \(store.folder)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the pumps whose keys this computer holds: serial, key id, pending re-key, source, date (never a key).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let store = try global.keyStore()
            var records: [PumpKeyRecord]
            do { records = try store.records() } catch {
                throw Output.fail(Keys.storeFailure(error, tail: "Nothing was changed."))
            }
            let entries = records.map { record in
                KeyEntry(serial: record.serial, keyId: record.currentKeyId, pendingKeyId: record.pendingKeyId, signer: record.signerName, source: record.source,
                         changedAt: Date(timeIntervalSince1970: TimeInterval(record.changedAt)), demo: record.demo)
            }
            for index in records.indices { records[index].wipe() }
            if global.json {
                try Output.json(KeyListing(keyring: store.folder.string, keys: entries))
                return
            }
            guard !entries.isEmpty else {
                Output.line("No pump keys in \(store.folder). Import the clinic's bundle: pumpctl keys import BUNDLE")
                return
            }
            Output.line("Keyring: \(store.folder)")
            Output.line(Output.table(header: ["Serial", "Key id", "Pending re-key", "Signer", "Source", "Since"], rows: entries.map { entry in
                [entry.serial, entry.keyId, entry.pendingKeyId.map { "\($0) (unacknowledged)" } ?? "-",
                 entry.demo ? "DEMO (published)" : entry.signer, entry.source, Screen.shared.zone.dateTime(PumpTime(utcSeconds: Int64(entry.changedAt.timeIntervalSince1970), offsetMinutes: 0))]
            }))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a pump's key from this computer (asks at a terminal; --yes for scripts).",
            discussion: """
                Refused while a re-key of the pump is unacknowledged: the pump may hold only the new key, and removing both would lock the clinic out of the implant for good. Hold the wand over the pump and run pumpctl interrogate first; the session settles which key the pump holds, and the key can then be removed.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The pump serial.", valueName: "serial"))
        var serial: String
        @Flag(name: .customLong("discard-unsettled-rekey"), help: ArgumentHelp(
            "DANGEROUS: remove both keys of an unacknowledged re-key. If the pump took the new key, no key anywhere opens it and only the manufacturer's service can reach it again."))
        var discardUnsettledRekey = false

        func run() async throws {
            let store = try global.keyStore()
            let checked: String
            do { checked = try PumpKeyStore.checkedSerial(serial) } catch {
                throw Output.fail(Keys.storeFailure(error, tail: "Nothing was removed."))
            }
            do {
                guard var held = try store.record(serial: checked) else { throw PumpKeyStoreError.notFound(serial: checked) }
                let pending = held.pendingKeyId
                held.wipe()
                if let pending {
                    // Refused before any prompt: the pump may hold only the pending key.
                    guard discardUnsettledRekey else { throw PumpKeyStoreError.unsettledRekey(serial: checked, pendingKeyId: pending) }
                    Output.note("DANGER: pump \(checked) has an unacknowledged re-key to key \(pending): the pump may hold only that key, and both keys are removed (--discard-unsettled-rekey). If it took it, no key anywhere opens the pump and only the manufacturer's service can reach it.")
                }
            } catch let error as PumpKeyStoreError {
                throw Output.fail(Keys.storeFailure(error, tail: "Nothing was removed."))
            }
            let confirmation: Confirmation
            if global.yes {
                confirmation = .flag(yes: true)
            } else if isatty(STDIN_FILENO) == 1 {
                confirmation = Prompt.confirmation("Type yes to remove the key of pump \(checked) from this computer (it can no longer reach that pump until the key is imported again):", rule: .yes)
            } else {
                confirmation = .flag(yes: false)
            }
            switch confirmation {
            case .typed(let answer) where answer.lowercased() == "yes": break
            case .flag(yes: true): break
            case .interrupted:
                throw Output.fail(CommandFailure(status: .cancelled, message: "Cancelled. Nothing was removed."))
            default:
                throw Output.fail(CommandFailure(status: .usage, message: "Not confirmed: give --yes, or run it at a terminal and type yes. Nothing was removed."))
            }
            do { try store.remove(serial: checked, discardingUnsettledRekey: discardUnsettledRekey) } catch {
                throw Output.fail(Keys.storeFailure(error, tail: "Nothing was removed."))
            }
            if global.json {
                try Output.json(RemoveResult(removed: checked))
            } else {
                Output.line("Removed the key of pump \(checked) from \(store.folder).")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Give a pump a new key (re-key request 0x15): laptops holding its old key can no longer reach it.",
            discussion: """
                The new key comes from the system's cryptographic generator and is written to the keyring as pending before it is sent; it becomes the pump's key from its next session, and the keyring's current key once the pump's receipt is in. If the receipt does not come, both keys stay and the next session tries the new one first and settles which the pump holds. This is how a lost or stolen laptop is revoked: rotate every pump it held a key for, out of the thief's radio range. The handshake rests on the pump key alone, so whoever holds the old key and is within radio range during the rotation visit can relay it and learn the new key; and if the thief rotated a pump first, no key here opens it: the manufacturer's service re-provisions it.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var session: SessionOptions
        @Argument(help: ArgumentHelp("The pump serial (the pump in range must be this one).", valueName: "serial"))
        var serial: String

        func run() async throws {
            let store = try global.keyStore()
            let rotated: (ChangeResult, KeyRotation.Outcome, KeyRotation)
            do {
                rotated = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
                    let rotation = try await KeyRotation.plan(programmer, serial: serial, store: store)
                    if !global.json { Output.note(PlanText.describe(rotation.plan, simulated: global.simulator)) }
                    let confirmation = PumpSession.confirmation(global, prompt: PlanText.prompt(rotation.plan), rule: rotation.plan.confirmation)
                    do throws(ProgrammerError) {
                        let (result, outcome) = try await rotation.perform(programmer, confirmation: confirmation)
                        return (result, outcome, rotation)
                    } catch {
                        if KeyRotation.outcomeUnknown(error) { Output.note(rotation.unacknowledgedNote) }
                        throw error
                    }
                }
            }
            let (result, outcome, rotation) = rotated
            if global.json {
                if let after = result.after { try Output.json(after) }
                return
            }
            switch outcome {
            case .rotated(let keyId):
                Output.line("Pump \(rotation.serial) now answers only to the new key \(keyId), from its next session. Laptops holding its old key can no longer reach it, provided no one holding the old key was within radio range during this visit (the handshake rests on the pump key alone, so such a one could have relayed it and learned the new key). Give the new key to other laptops of this clinic only by a new bundle or this keyring.")
            }
        }
    }

    struct DemoBundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo-bundle",
            abstract: "Write a DEMO provisioning bundle (published signer, the simulator's DEMO key) for tests and training.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The new bundle file (mode 0600; an existing file is not replaced).", valueName: "file"))
        var out: String
        @Option(name: .customLong("serial"), help: ArgumentHelp(
            "A pump serial to include (repeat; default the simulator's RP20-DEMO-0001 and RP40-DEMO-0001).", valueName: "serial"))
        var serials: [String] = []
        @Option(name: .customLong("issued-at"), help: ArgumentHelp("Issue time, UTC seconds since 1970 (default now).", valueName: "seconds"))
        var issuedAt: Int64?

        func run() async throws {
            let chosen = serials.isEmpty ? [PumpIdentity.demoSerial, PumpIdentity.demo(model: "RP-40").serial] : serials
            let bytes: [UInt8]
            do {
                bytes = try DemoManufacturerSigner.bundle(entries: chosen.map { (serial: $0, key: PumpIdentity.demoKey) },
                                                          issuedAt: issuedAt ?? Int64(Date().timeIntervalSince1970))
                try AtomicFile.create(bytes, at: FilePath(out))
            } catch let error as StateFileError {
                throw Output.fail(CommandFailure(status: .usage, message: "The demo bundle was not written: \(error.description)"))
            } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: "The demo bundle was not signed: \(error)"))
            }
            Output.line("SIMULATED DEMO bundle (published signer and key, protects nothing) for \(chosen.joined(separator: ", ")) written to \(out).")
        }
    }
}

struct KeyEntry: Encodable {
    var serial: String
    var keyId: String
    var pendingKeyId: String?
    var signer: String
    var source: String
    var changedAt: Date
    var demo: Bool

    enum CodingKeys: String, CodingKey { case serial, keyId, pendingKeyId, signer, source, changedAt, demo }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serial, forKey: .serial)
        try container.encode(keyId, forKey: .keyId)
        // Always present: null when no re-key is unacknowledged.
        try container.encode(pendingKeyId, forKey: .pendingKeyId)
        try container.encode(signer, forKey: .signer)
        try container.encode(source, forKey: .source)
        try container.encode(changedAt, forKey: .changedAt)
        try container.encode(demo, forKey: .demo)
    }
}

struct KeyListing: Encodable {
    var keyring: String
    var keys: [KeyEntry]
}

struct ImportResult: Encodable {
    var bundleId: String
    var issuer: String
    var signer: String
    var demo: Bool
    var serials: [String]
    var imported: [String]
}

struct RemoveResult: Encodable {
    var removed: String
}
