import Foundation
import StateFiles
import Therapy
import WandProtocol

/// Rotates a pump's key through the command pipeline, keeping the keyring
/// able to reach the pump whatever happens to the reply:
///
/// 1. a new key from the system's cryptographic generator;
/// 2. the plan (`RekeyCommand`) and every check, before any prompt;
/// 3. the new key written to the keyring as PENDING, durably, before the
///    request is sent;
/// 4. on the receipt, the pending key becomes current and the old one is
///    gone; when the pump certainly did not act (refused, not sent) the
///    pending key is dropped; when the outcome is unknown both stay, and
///    the next session tries the pending key first (`PumpConnection.open`)
///    and settles the keyring by which key the pump answers to
///    (`settle(serial:opened:)`).
public struct KeyRotation: Sendable {
    public let store: PumpKeyStore
    public let serial: String
    public let plan: ChangePlan
    private let newKey: [UInt8]

    /// What the rotation did to the keyring, for the technician.
    public enum Outcome: Sendable, Equatable {
        /// The receipt is in: only the new key is held.
        case rotated(newKeyId: String)
    }

    /// The new key's id (never the key).
    public var newKeyId: String { Rekey.keyIdHex(newKey) }

    /// What the keyring holds after a rotation whose outcome is unknown.
    public var unacknowledgedNote: String {
        "The pump's answer to the re-key never came: the keyring keeps BOTH keys for pump \(serial), the new key \(newKeyId) (tried first) and the old one; the next session settles which one the pump holds."
    }

    /// Plans the rotation of `serial`'s key and runs every check. Sends
    /// nothing and writes nothing.
    public static func plan(_ programmer: Programmer, serial: String, store: PumpKeyStore,
                            overrides: [Override] = []) async throws(ProgrammerError) -> KeyRotation {
        let checked: String
        do { checked = try PumpKeyStore.checkedSerial(serial) } catch { throw .input(error.description) }
        do {
            guard var held = try store.record(serial: checked) else {
                throw ProgrammerError.input("The keyring holds no key for pump \(checked): import its bundle first (pumpctl keys import BUNDLE).")
            }
            let unsettled = held.pendingKeyId
            held.wipe()
            // A second re-key over an unsettled one would drop the key the
            // pump may hold now.
            if let unsettled {
                throw ProgrammerError.refusedByPolicy("an earlier re-key of pump \(checked) to key \(unsettled) is unacknowledged: open a session with the pump first (pumpctl interrogate) so the keyring learns which key it holds")
            }
        } catch let error as PumpKeyStoreError {
            throw .storage(error.description)
        } catch let error as ProgrammerError {
            throw error
        } catch {
            throw .storage("the keyring could not be read")
        }
        var key = [UInt8](repeating: 0, count: PumpKey.length)
        var generator = SystemRandomNumberGenerator()
        for index in key.indices { key[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let plan = try await programmer.plan(RekeyCommand(serial: checked, newKey: key))
        _ = try await programmer.preflight(plan, overrides: overrides)
        return KeyRotation(store: store, serial: checked, plan: plan, newKey: key)
    }

    /// Writes the pending key, sends the re-key and settles the keyring by
    /// its outcome. Errors are the pipeline's, after the keyring is settled.
    public func perform(_ programmer: Programmer, confirmation: Confirmation,
                        overrides: [Override] = []) async throws(ProgrammerError) -> (ChangeResult, Outcome) {
        let keyId = Rekey.keyIdHex(newKey)
        // A confirmation that does not authorise (no --yes, Ctrl-C, a wrong
        // answer) writes nothing: `execute` records the refusal and throws.
        do { _ = try await programmer.authorise(plan, overrides: overrides, confirmation: confirmation) } catch {
            _ = try? await programmer.execute(plan, overrides: overrides, confirmation: confirmation)
            throw error
        }
        do { try store.setPending(serial: serial, key: newKey) } catch {
            throw .storage("the new key could not be written to the keyring (\(error.description)); nothing was sent")
        }
        do throws(ProgrammerError) {
            let result = try await programmer.execute(plan, overrides: overrides, confirmation: confirmation)
            await programmer.connection.rekeyed(to: newKey)
            do { try store.promotePending(serial: serial, now: Int64(Date().timeIntervalSince1970)) } catch {
                // The pump holds the new key and the keyring has it as
                // pending: the next session opens with it and settles this.
                throw ProgrammerError.storage("the pump took the new key (id \(keyId)) but the keyring still lists it as pending (\(error.description)); the next session uses it")
            }
            return (result, .rotated(newKeyId: keyId))
        } catch {
            let effect = await programmer.effect
            if effect.leftAsBefore, !Self.outcomeUnknown(error) {
                // Certainly not carried out: the pump keeps its old key.
                try? store.dropPending(serial: serial)
            }
            throw error
        }
    }

    /// Whether the pipeline's error leaves the re-key's outcome unknown
    /// (both keys kept).
    public static func outcomeUnknown(_ error: ProgrammerError) -> Bool {
        switch error {
        case .uncertain, .unresolved: true
        default: false
        }
    }

    /// After a session with the simulated pump, whose key is known
    /// outright: settles an unacknowledged re-key as `settle(_:serial:opened:)`
    /// does, by which of the keyring's keys the pump holds.
    public static func settle(_ store: PumpKeyStore, serial: String, pumpHolds key: [UInt8])
        throws(PumpKeyStoreError) -> String?
    {
        guard var record = try store.record(serial: serial), let pending = record.pending else { return nil }
        let role: PumpKeyring.Role = key == pending ? .pending : key == record.current ? .current : .anySerial
        record.wipe()
        return try settle(store, serial: serial, opened: role)
    }

    /// After a session opened: the key the pump answered to settles an
    /// unacknowledged re-key. The pending key opened it: the pump took it,
    /// so it becomes current. The current key opened it while a key was
    /// pending: the re-key never took effect, so the pending key is dropped.
    /// Returns what changed, for the technician (nil: nothing).
    public static func settle(_ store: PumpKeyStore, serial: String, opened role: PumpKeyring.Role)
        throws(PumpKeyStoreError) -> String?
    {
        guard var record = try store.record(serial: serial), let pending = record.pendingKeyId else { return nil }
        let old = record.currentKeyId
        record.wipe()
        switch role {
        case .pending:
            try store.promotePending(serial: serial, now: Int64(Date().timeIntervalSince1970))
            return "Pump \(serial) answers to the new key \(pending) of an earlier unacknowledged re-key: it is now the current key; the old key \(old) is gone from this keyring."
        case .current:
            try store.dropPending(serial: serial)
            return "Pump \(serial) still answers to key \(old): the earlier re-key to \(pending) never took effect and that key was dropped."
        case .anySerial:
            return nil
        }
    }
}
