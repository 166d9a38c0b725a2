import Foundation
import GRDB
import Glibc
import PumpSimulator
import StateFiles
import Therapy
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpProgrammer

/// Another laptop's state directory at the same simulated pump as `visit`:
/// the same audit key (the test process's configuration directory), as two
/// laptops whose configuration directory was copied whole.
struct SecondLaptop {
    let visit: SimulatedVisit
    /// Inside the visit's temporary folder: removed with it.
    let directory: StateDirectory

    init(visit: SimulatedVisit) {
        self.visit = visit
        directory = visit.temporary.newStateDirectory()
    }

    func programmer() async throws -> Programmer {
        let connection = try await PumpConnection.open(
            transport: visit.transport, keyring: PumpKeyring(anySerial: PumpIdentity.demoKey),
            policy: RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2))
        let clock = visit.clock
        let context = ProgrammerContext(
            stateDirectory: directory, operatorName: "tech.b", secondOperator: nil,
            policy: try ClinicPolicy.shippedDefaults(), simulated: true, expectedPumpSerial: nil,
            now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) }, interrupted: { false })
        return try await Programmer(connection: connection, context: context)
    }

    func audit() throws -> AuditLog { try AuditLog(directory: directory) }
}

extension SimulatedVisit {

    /// The anchors the simulated pump holds, newest first, as the host reads them.
    func pumpAnchors() -> [AuditAnchor] {
        transport.with { $0.pump.auditAnchors }.map { AuditAnchor(logID: $0.logID, rowCount: $0.rowCount, rowMAC: $0.rowMAC) }
    }

    /// Removes the log and its head, as one would to start over (the audit key kept).
    func removeLogAndHead() {
        for name in [AuditLog.databaseName, AuditLog.databaseName + "-wal", AuditLog.databaseName + "-shm", AuditLog.headName] {
            unlink(directory.file(name).string)
        }
    }
}

/// The log nonce: two logs made with one audit key (copied to another
/// laptop, or a log started afresh) have two log ids, anchor side by side
/// in the pump, and each `verify` names the other as another log of its
/// key, neither as verified alone nor as tampered.
@Suite(.serialized) struct AuditLogNonceTests {
    /// Each test's logs; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")

    func temporaryStateDirectory() -> StateDirectory { temporary.newStateDirectory() }

    static let workedKey = try! AuditKey(bytes: Array(0x40..<0x60))

    /// The `plaintext example` hex block `name` of hardware/PROTOCOL.md.
    static func protocolExample(_ name: String) throws -> [UInt8] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("hardware/PROTOCOL.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- plaintext example: \(name) -->"))
        let open = try #require(text[marker.upperBound...].range(of: "```hex\n"))
        let close = try #require(text[open.upperBound...].range(of: "```"))
        return text[open.upperBound..<close.lowerBound].split(whereSeparator: \.isWhitespace).compactMap { UInt8($0, radix: 16) }
    }

    func record(_ command: String, id: String? = nil) -> AuditRecord {
        AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .intent,
                    commandID: id, parameters: ["dose": "50mcg"])
    }

    /// A log as the version before the nonce wrote it: the same tables, no
    /// nonce, the chain from 64 zeros and its head, under `key`.
    func legacyLog(in directory: StateDirectory, key: AuditKey, rows: Int) throws {
        // The tables as they were: made by today's code, its nonce table
        // and migration taken out again.
        _ = try AuditLog(directory: directory, key: key)
        let database = try DatabaseQueue(path: directory.file(AuditLog.databaseName).string)
        let last = try database.write { db -> String in
            try db.execute(sql: "DROP TABLE audit_log_nonce; DELETE FROM grdb_migrations WHERE identifier = 'v3-log-nonce'")
            var previous = AuditChain.genesis
            var canonical: [UInt8] = []
            for sequence in 1...Int64(rows) {
                let stored = AuditChain.StoredRow(
                    sequence: sequence, time: "2026-01-01T00:00:00.000Z", operatorName: "nurse.a", secondOperator: nil,
                    pumpSerial: "RP20-000001", command: "bolus", phase: "intent", commandID: nil,
                    parameters: #"{"dose":"\#(sequence)mcg"}"#, outcome: nil, overrides: "[]", previousMAC: previous)
                AuditChain.canonical(stored, into: &canonical)
                let mac = AuditChain.mac(of: canonical, key: key.symmetric)
                try db.execute(
                    sql: """
                        INSERT INTO audit_entry (sequence, time, operator, second_operator, pump_serial, command, phase,
                            command_id, parameters, outcome, overrides, previous_hash, hash)
                        VALUES (?, ?, ?, NULL, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)
                        """,
                    arguments: [sequence, stored.time, stored.operatorName, stored.pumpSerial, stored.command, stored.phase,
                                stored.parameters, stored.overrides, previous, mac])
                previous = mac
            }
            return previous
        }
        let headMAC = AuditChain.headMAC(sequence: Int64(rows), rowMAC: last, key: key)
        try AtomicFile.write(Array("2 \(rows) \(last) \(headMAC)\n".utf8), to: directory.file(AuditLog.headName))
    }

    func raw(_ directory: StateDirectory, _ sql: String) throws {
        try DatabaseQueue(path: directory.file(AuditLog.databaseName).string).write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS audit_log_nonce_no_update; DROP TRIGGER IF EXISTS audit_log_nonce_no_delete")
            try db.execute(sql: sql)
        }
    }

    @Test func bothLogIdDerivationsAreTheWorkedExamples() throws {
        // PROTOCOL.md 10.10, computed independently by scripts/protocol_examples.py.
        let version1 = try Self.protocolExample("audit-log-id")
        let version2 = try Self.protocolExample("audit-log-id-v2")
        #expect(version1.count == 16 && version2.count == 16)
        #expect(AuditLogIdentity.logIDv1(key: Self.workedKey) == version1)
        #expect(AuditLogIdentity.logIDv2(key: Self.workedKey, nonce: Array(1...8)) == version2)
        #expect(AuditLogIdentity.nonce(ofLogID: version2, key: Self.workedKey) == Array(1...8))
        // Another key's, and the version 1 id, are not version 2 ids of this key.
        #expect(AuditLogIdentity.nonce(ofLogID: version2, key: try AuditKey(bytes: Array(0x60..<0x80))) == nil)
        #expect(AuditLogIdentity.nonce(ofLogID: version1, key: Self.workedKey) == nil)
        let command = try Self.protocolExample("audit-command-id-v2")
        let id = try #require(CommandID(bytes: command))
        #expect(AuditLogIdentity.isCommand(id, of: version2, key: Self.workedKey))
        #expect(!AuditLogIdentity.isCommand(id, of: version1, key: Self.workedKey))
        #expect(!AuditLogIdentity.isCommand(id, of: Array(1...8) + Array(repeating: 0, count: 8), key: Self.workedKey))
    }

    @Test func aLogMadeBeforeTheNonceKeepsItsIdAndVerifies() throws {
        let directory = temporaryStateDirectory()
        try legacyLog(in: directory, key: Self.workedKey, rows: 3)
        let log = try AuditLog(directory: directory, key: Self.workedKey)
        #expect(log.identity == .version1)
        // The id its anchors already carry in the clinic's pumps.
        #expect(log.logID == (try Self.protocolExample("audit-log-id")))
        #expect(try log.verify().intact)
        // It goes on as a version 1 log: command ids tagged as before.
        let id = log.taggedCommandID()
        #expect(log.isOwnCommand(id))
        let tag = AuditLogIdentity.commandTag(random: Array(id.bytes.prefix(8)), logID: log.logID, key: Self.workedKey)
        #expect(tag == Array(HMAC256.code(Self.workedKey, AuditLogIdentity.commandV1Label + Array(id.bytes.prefix(8))).prefix(8)))
        try log.append(record("bolus", id: id.description))
        try log.sealHead()
        let anchor = try #require(try log.anchor())
        #expect(anchor.logID == log.logID && anchor.rowCount == 4)
        let reopened = try AuditLog(directory: directory, key: Self.workedKey)
        #expect(reopened.identity == .version1)
        let verification = try reopened.verify(anchors: [anchor], pumpCommands: [id])
        #expect(verification.verdict == .intact, "\(verification.problems)")
        #expect(verification.anchorsChecked == 1)
    }

    @Test func aNewLogHasANonceThatItsFirstRowFollowsFrom() throws {
        let directory = temporaryStateDirectory()
        let key = try AuditKey(bytes: Array(0..<32))
        let log = try AuditLog(directory: directory, key: key)
        guard case let .version2(nonce) = log.identity else {
            Issue.record("a new log has no nonce: \(log.identity)")
            return
        }
        #expect(log.logID == AuditLogIdentity.logIDv2(key: key, nonce: nonce))
        let first = try log.append(record("bolus"))
        #expect(first.previousHash == log.identity.genesis(key: key))
        #expect(first.previousHash != AuditChain.genesis)
        // Two logs under one key: two nonces, two ids.
        let other = try AuditLog(directory: temporaryStateDirectory(), key: key)
        #expect(other.logID != log.logID)
        #expect(log.isSameKeyOtherLog(other.logID) && other.isSameKeyOtherLog(log.logID))
        #expect(!log.isSameKeyOtherLog(log.logID))
        // A command names its log.
        let id = other.taggedCommandID()
        #expect(other.isOwnCommand(id) && !log.isOwnCommand(id))
    }

    @Test func aChangedNonceFailsVerify() throws {
        let directory = temporaryStateDirectory()
        let key = try AuditKey(bytes: Array(0..<32))
        let log = try AuditLog(directory: directory, key: key)
        for _ in 1...3 { try log.append(record("bolus")) }
        try log.sealHead()
        #expect(try log.verify().intact)
        // The database refuses a changed nonce, as it refuses changed rows.
        #expect(throws: DatabaseError.self) {
            try DatabaseQueue(path: directory.file(AuditLog.databaseName).string).write { db in
                try db.execute(sql: "UPDATE audit_log_nonce SET nonce = '0000000000000000'")
            }
        }
        // Changed anyway: to another nonce (another log's id), removed (a
        // version 1 log's id), or to something that is not a nonce.
        try raw(directory, "UPDATE audit_log_nonce SET nonce = '0102030405060708'")
        let renamed = try AuditLog(directory: directory, key: key).verify()
        #expect(renamed.problems.map(\.kind) == [.chainBroken], "\(renamed.problems)")
        #expect(renamed.problems.first?.sequence == 1)
        try raw(directory, "DELETE FROM audit_log_nonce")
        let removed = try AuditLog(directory: directory, key: key)
        #expect(removed.identity == .version1)
        #expect(try removed.verify().problems.map(\.kind) == [.chainBroken])
        try raw(directory, "INSERT INTO audit_log_nonce (nonce) VALUES ('not a nonce')")
        let damaged = try AuditLog(directory: directory, key: key)
        #expect(try damaged.verify().problems.map(\.kind) == [.chainBroken])
        // And nothing more is written to it.
        let refusal = #expect(throws: AuditError.self) { try damaged.append(self.record("bolus")) }
        guard case .tampered(kind: .chainBroken, _)? = refusal else {
            Issue.record("a log with a damaged nonce was written to: \(String(describing: refusal))")
            return
        }
    }

    @Test func twoLogsWithOneKeyAnchorSideBySideAndEachNamesTheOther() async throws {
        let first = SimulatedVisit()
        let second = SecondLaptop(visit: first)
        // The first laptop programs the pump (a command of its log in the
        // pump's record), then the second reads it.
        let programmer = try await first.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(await programmer.close() != .skipped)
        let reader = try await second.programmer()
        let commands = try await reader.interrogateReport().recentCommands.map(\.commandId)
        #expect(await reader.close() != .skipped)

        let firstLog = try first.audit()
        let secondLog = try second.audit()
        #expect(firstLog.logID != secondLog.logID)
        // Both anchors kept: neither refused as behind the other.
        let anchors = first.pumpAnchors()
        #expect(anchors.map(\.logID) == [secondLog.logID, firstLog.logID])
        #expect(commands.contains(where: firstLog.isOwnCommand))

        let firstVerification = try firstLog.verify(anchors: anchors, pumpCommands: commands)
        #expect(firstVerification.problems.isEmpty, "\(firstVerification.problems)")
        #expect(firstVerification.verdict == .sameKeyOtherLogs)
        #expect(firstVerification.anchorsChecked == 1 && firstVerification.otherLogsAnchors == 0)
        let seenByFirst = try #require(firstVerification.sameKeyOtherLogs?.first)
        #expect(firstVerification.sameKeyOtherLogs?.count == 1)
        #expect(seenByFirst.logID == AuditChain.hex(secondLog.logID))
        #expect((seenByFirst.rowCount ?? 0) > 0)
        #expect(seenByFirst.anchorNewer == true && seenByFirst.commands.isEmpty)

        let secondVerification = try secondLog.verify(anchors: anchors, pumpCommands: commands)
        // The first laptop's program command is not read as cut from the second's log.
        #expect(secondVerification.problems.isEmpty, "\(secondVerification.problems)")
        #expect(secondVerification.verdict == .sameKeyOtherLogs)
        let seenBySecond = try #require(secondVerification.sameKeyOtherLogs?.first)
        #expect(seenBySecond.logID == AuditChain.hex(firstLog.logID))
        #expect(seenBySecond.anchorNewer == false)
        #expect(!seenBySecond.commands.isEmpty)
        #expect(seenBySecond.commands.allSatisfy { text in commands.contains { $0.description == text && firstLog.isOwnCommand($0) } })
        // Another key's anchor is still only counted.
        let stranger = AuditAnchor(logID: AuditLogIdentity.logIDv2(key: try AuditKey(bytes: Array(0..<32)), nonce: Array(1...8)),
                                   rowCount: 9, rowMAC: Array(repeating: 7, count: 32))
        let counted = try secondLog.verify(anchors: [stranger] + anchors, pumpCommands: commands)
        #expect(counted.otherLogsAnchors == 1 && counted.sameKeyOtherLogs?.count == 1)
    }

    @Test func aLogStartedAfreshNamesTheOldLogWhoseAnchorIsAhead() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        _ = await programmer.close()
        let old = try visit.audit()
        let oldID = old.logID
        let oldRows = UInt64(try old.entries().count)
        #expect(visit.pumpAnchors().map(\.logID) == [oldID])

        // Deleted and started afresh under the same key.
        visit.removeLogAndHead()
        let fresh = try visit.audit()
        #expect(fresh.logID != oldID)
        let beforeAnchoring = try fresh.verify(anchors: visit.pumpAnchors())
        #expect(beforeAnchoring.problems.isEmpty && beforeAnchoring.verdict == .sameKeyOtherLogs)
        let evidence = try #require(beforeAnchoring.sameKeyOtherLogs?.first)
        #expect(evidence.logID == AuditChain.hex(oldID) && evidence.rowCount == oldRows && evidence.anchorNewer == true)

        // Its first visit anchors it beside the old log's: the pump keeps
        // both (different ids), so the old log's evidence survives (H222).
        let next = try await visit.programmer()
        let commands = try await next.interrogateReport().recentCommands.map(\.commandId)
        _ = await next.close()
        let anchors = visit.pumpAnchors()
        #expect(anchors.count == 2)
        let after = try visit.audit().verify(anchors: anchors, pumpCommands: commands)
        #expect(after.problems.isEmpty, "\(after.problems)")
        #expect(after.verdict == .sameKeyOtherLogs)
        let kept = try #require(after.sameKeyOtherLogs?.first)
        #expect(kept.logID == AuditChain.hex(oldID))
        // Ahead of the new log: more rows than it has.
        #expect(kept.rowCount == oldRows && oldRows > UInt64(after.entries))
        // The old log's program command is listed under it, not as missing from this one.
        #expect(!kept.commands.isEmpty)
    }

    @Test func aLogMadeBeforeTheNonceAndReplacedIsNamedWithItsCommands() throws {
        let directory = temporaryStateDirectory()
        try legacyLog(in: directory, key: Self.workedKey, rows: 5)
        let legacy = try AuditLog(directory: directory, key: Self.workedKey)
        let legacyCommand = legacy.taggedCommandID()
        let anchor = try #require(try legacy.anchor())
        for name in [AuditLog.databaseName, AuditLog.databaseName + "-wal", AuditLog.databaseName + "-shm", AuditLog.headName] {
            unlink(directory.file(name).string)
        }
        let fresh = try AuditLog(directory: directory, key: Self.workedKey)
        try fresh.append(record("bolus"))
        try fresh.sealHead()
        let verification = try fresh.verify(anchors: [anchor], pumpCommands: [legacyCommand])
        #expect(verification.problems.isEmpty, "\(verification.problems)")
        #expect(verification.sameKeyOtherLogs == [
            .init(logID: AuditChain.hex(AuditLogIdentity.logIDv1(key: Self.workedKey)), rowCount: 5, anchorNewer: true,
                  commands: [legacyCommand.description]),
        ])
        // Its command alone (its anchor pushed out of the pump) still names it.
        let commandOnly = try fresh.verify(anchors: [], pumpCommands: [legacyCommand])
        #expect(commandOnly.sameKeyOtherLogs?.first?.rowCount == nil)
        #expect(commandOnly.sameKeyOtherLogs?.first?.commands == [legacyCommand.description])
    }

    @Test func theVerdictIsInTheJSON() throws {
        let verification = AuditVerification(
            entries: 3, problems: [], anchorsChecked: 0, unwitnessedRows: 3, otherLogsAnchors: 0,
            sameKeyOtherLogs: [.init(logID: String(repeating: "ab", count: 16), rowCount: 7, anchorNewer: true, commands: [])],
            logID: String(repeating: "cd", count: 16))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(verification)) as? [String: Any])
        #expect(object["verdict"] as? String == "same_key_other_logs")
        #expect(object["intact"] as? Bool == true)
        let logs = try #require(object["same_key_other_logs"] as? [[String: Any]])
        #expect(logs.first?["log_id"] as? String == String(repeating: "ab", count: 16))
        #expect(logs.first?["anchor_newer"] as? Bool == true)
        #expect(object["log_id"] as? String == String(repeating: "cd", count: 16))
    }
}

/// HMAC-SHA256, for the expected values.
enum HMAC256 {
    static func code(_ key: AuditKey, _ message: [UInt8]) -> [UInt8] {
        AuditChain.bytes(ofHex: AuditChain.mac(of: message, key: key.symmetric)) ?? []
    }
}

extension TemporaryDirectory {
    /// A new state directory inside this folder, for one more log.
    func newStateDirectory() -> StateDirectory {
        do { return StateDirectory(path: FilePath(try subfolder("state-\(UUID().uuidString)"))) } catch {
            Issue.record(error)
            return StateDirectory(path: FilePath(file("state-unmade")))
        }
    }
}
