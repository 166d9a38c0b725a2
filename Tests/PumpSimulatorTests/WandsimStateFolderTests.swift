import Foundation
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
@testable import PumpSimulator

/// The simulator's state file lives in the state directory: in a folder
/// another user can write into, a forged pump could be planted or the
/// file swapped for a link, so it is neither read nor written there.
@Suite struct WandsimStateFolderTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-sim")
    var folder: FilePath { FilePath(temporary.path) }

    @Test func aWorldWritableStateFolderIsRefused() throws {
        let file = SimulatorStateFile(path: folder.appending(SimulatorStateFile.defaultName))
        try file.save(PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000))
        #expect(chmod(folder.string, 0o777) == 0)
        let unsafe = StateFileError.unsafeDirectory(path: folder.string, problem: .writableByOthers(mode: 0o777))
        #expect(throws: SimulatorStateError.unreadable(path: file.path.string, detail: unsafe.description)) {
            _ = try file.load()
        }
        #expect(throws: SimulatorStateError.unwritable(path: file.path.string, detail: unsafe.description)) {
            try file.save(PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000))
        }
        #expect(chmod(folder.string, 0o700) == 0)
        _ = try file.load()
    }
}
