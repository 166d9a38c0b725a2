import Foundation
import StateFiles
import SystemPackage
import Therapy
import WandProtocol

/// The simulator's state on disk: one versioned JSON document, written
/// atomically (write, fsync, rename) after every change.
///
/// A file that does not parse, or was written by a newer version, is an
/// error the user sees; it is never silently replaced, because it is the
/// record of a (simulated) patient's therapy.
public struct SimulatorStateFile: Sendable {
    public static let currentVersion = 2
    public static let defaultName = "simulator.json"
    /// A state file is a few hundred kilobytes at most (bounded event log
    /// and command record); refuse anything far larger.
    static let sizeLimit = 8 * 1024 * 1024

    public let path: FilePath

    public init(path: FilePath) {
        self.path = path
    }

    public var exists: Bool { AtomicFile.exists(path) }

    public func load() throws(SimulatorStateError) -> PumpSimulation {
        let bytes: [UInt8]
        do {
            // A folder others can write to could hold a forged pump.
            try StateDirectory.requireSafe(path.removingLastComponent())
            bytes = try AtomicFile.read(path, limit: Self.sizeLimit)
        } catch {
            throw .unreadable(path: path.string, detail: error.description)
        }
        let decoder = JSONDecoder()
        let header: VersionHeader
        do {
            header = try decoder.decode(VersionHeader.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path.string, detail: "it has no readable format_version (\(error))")
        }
        guard header.formatVersion <= Self.currentVersion else {
            throw .futureVersion(path: path.string, version: header.formatVersion, supported: Self.currentVersion)
        }
        guard header.formatVersion == Self.currentVersion else {
            throw .corrupt(path: path.string, detail: "format_version \(header.formatVersion) is not one this build reads")
        }
        let snapshot: SimulationSnapshot
        do {
            snapshot = try decoder.decode(SimulationSnapshot.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path.string, detail: "\(error)")
        }
        return try PumpSimulation(snapshot: snapshot, path: path.string)
    }

    /// The saved simulation, or, when there is no file yet, a fresh pump as
    /// after a routine visit, saved at once. A file that exists but cannot
    /// be read is an error, never replaced.
    public func loadOrCreate(hostNow: Int64, profile: PumpProfile = .rp20, seed: UInt64 = 1) throws(SimulatorStateError) -> PumpSimulation {
        if exists { return try load() }
        let simulation = PumpSimulation.fresh(profile: profile, seed: seed, hostNow: hostNow)
        try save(simulation)
        return simulation
    }

    public func save(_ simulation: PumpSimulation) throws(SimulatorStateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(simulation.snapshot)
            try StateDirectory.requireSafe(path.removingLastComponent())
            try AtomicFile.write(Array(data), to: path)
        } catch let error as StateFileError {
            throw .unwritable(path: path.string, detail: error.description)
        } catch {
            throw .unwritable(path: path.string, detail: "\(error)")
        }
    }

    private struct VersionHeader: Decodable {
        var formatVersion: Int
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
    }
}

public enum SimulatorStateError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, detail: String)
    case corrupt(path: String, detail: String)
    case futureVersion(path: String, version: Int, supported: Int)
    case unwritable(path: String, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(path, detail):
            return "The simulator state \(path) cannot be read: \(detail)"
        case let .corrupt(path, detail):
            return "The simulator state \(path) is corrupt: \(detail). It was left as it is; move it away or run 'pumpctl --simulator sim reset' to start a fresh simulated pump."
        case let .futureVersion(path, version, supported):
            return "The simulator state \(path) has format version \(version), newer than this build reads (\(supported)). It was left as it is; use a newer pumpctl."
        case let .unwritable(path, detail):
            return "The simulator state \(path) could not be saved: \(detail)"
        }
    }
}

/// Everything the simulator persists, as JSON.
struct SimulationSnapshot: Codable {
    var formatVersion: Int
    var identity: PumpIdentity
    var model: String
    var mechanics: PumpMechanics
    var drug: UInt8
    /// Canonical wire encodings, hex.
    var prescription: String
    var staged: String?
    var lastChange: Int64
    var refillExpectedResidual: FineVolume?
    /// Absent in files from before refill paused delivery: read as nil.
    var infusionStoppedBeforeRefill: Bool?
    /// Absent in files from before the refill time limit: the refill is
    /// then timed from the next advance.
    var refillBegunAt: Int64?
    var eventLog: EventLog
    var outcomes: CommandOutcomeStore
    var patientBolusTimes: [Int64]
    var bolusesDelivered: Int
    /// Simulated clock minus host clock, seconds: the simulated pump runs
    /// on the host's clock plus what `sim advance` added.
    var clockOffset: Int64
    var link: LinkModel
    var generator: SeededGenerator
    var pendingFaults: [Fault]
    var rejected: RejectionCounters
    /// The host audit anchors the pump witnessed; absent in files from
    /// before request 0x16: read as none.
    var auditAnchors: [WireAuditAnchor]? = nil

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", identity, model, mechanics, drug, prescription, staged
        case lastChange = "last_change", refillExpectedResidual = "refill_expected_residual"
        case infusionStoppedBeforeRefill = "infusion_stopped_before_refill"
        case refillBegunAt = "refill_begun_at"
        case eventLog = "event_log", outcomes, patientBolusTimes = "patient_bolus_times"
        case bolusesDelivered = "boluses_delivered", clockOffset = "clock_offset"
        case link, generator, pendingFaults = "pending_faults", rejected
        case auditAnchors = "audit_anchors"
    }
}

/// Frames and messages the simulated wand and pump refused, by reason.
public struct RejectionCounters: Codable, Sendable, Equatable {
    public var authenticationFailures = 0
    public var replays = 0
    public var badFrames = 0
    public var withoutSession = 0
    public var malformedRequests = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case authenticationFailures = "authentication_failures", replays, badFrames = "bad_frames"
        case withoutSession = "without_session", malformedRequests = "malformed_requests"
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
