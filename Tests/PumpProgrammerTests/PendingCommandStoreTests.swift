import Foundation
import Testing
@testable import PumpProgrammer
import StateFiles

@Suite struct PendingCommandStoreTests {
    let directory = temporaryStateDirectory()
    let bolus = PendingCommand(
        commandID: "0011223344556677", command: "bolus", pumpSerial: "RP20-000001",
        sentAt: Date(timeIntervalSince1970: 1_800_000_000), parameters: ["dose": "50mcg"])

    @Test func noRecordMeansNothingPending() throws {
        #expect(try PendingCommandStore(directory: directory).load() == nil)
    }

    @Test func aRecordSurvivesANewStoreAndResolves() throws {
        try directory.create()
        try PendingCommandStore(directory: directory).record(bolus)
        let store = PendingCommandStore(directory: directory)
        #expect(try store.load() == bolus)
        try store.resolve(commandID: bolus.commandID)
        #expect(try store.load() == nil)
    }

    @Test func aSecondCommandIsRefusedWhileOneIsPending() throws {
        try directory.create()
        let store = PendingCommandStore(directory: directory)
        try store.record(bolus)
        var other = bolus
        other.commandID = "8899aabbccddeeff"
        #expect(throws: PendingCommandError.alreadyPending(bolus)) { try store.record(other) }
        #expect(throws: PendingCommandError.alreadyPending(bolus)) { try store.resolve(commandID: other.commandID) }
        #expect(try store.load() == bolus)
    }

    @Test func aCorruptRecordBlocksInsteadOfVanishing() throws {
        try directory.create()
        let store = PendingCommandStore(directory: directory)
        try AtomicFile.write(Array("{ not json".utf8), to: store.path)
        #expect(throws: PendingCommandError.self) { try store.load() }
        #expect(AtomicFile.exists(store.path))
    }
}
