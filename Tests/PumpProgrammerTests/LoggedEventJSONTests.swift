import Foundation
import Testing
import WandProtocol
@testable import PumpProgrammer

/// `log --json` (and serve's event-log) gives an event's detail once,
/// typed: quantities as {value, unit}, never the wire integer in base units
/// (nL, ng) beside them under a second name.
@Suite struct LoggedEventJSONTests {
    func json(_ code: PumpEventCode, _ detail: UInt32) throws -> [String: Any] {
        let event = LoggedEvent(index: 7, utcSeconds: 1_800_000_000, time: "2027-01-15T08:00:00Z", code: code.rawValue,
                                event: "\(code)", detail: detail)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try #require(try JSONSerialization.jsonObject(with: encoder.encode(event)) as? [String: Any])
    }

    @Test func aRefillsVolumeIsAQuantityAndNothingElse() throws {
        let refill = try json(.refillCompleted, 18_000_000)
        #expect(Set(refill.keys) == ["index", "time", "code", "event", "decoded"])
        let volume = try #require((refill["decoded"] as? [String: Any])?["volume"] as? [String: Any])
        #expect(volume["value"] as? Double == 18 && volume["unit"] as? String == "mL")
    }

    @Test func aDeliveredDoseIsAQuantityAndAnUnknownDetailStaysRaw() throws {
        let drug = try json(.bolusDrugDelivered, 50_000)
        #expect(drug["detail"] == nil)
        let mass = try #require((drug["decoded"] as? [String: Any])?["drug"] as? [String: Any])
        #expect(mass["value"] as? Double == 50 && mass["unit"] as? String == "mcg")
        // A detail its code does not allow keeps its number, under one name.
        let odd = try json(.infusionStopped, 3)
        #expect((odd["decoded"] as? [String: Any])?["raw"] as? Int == 3)
        #expect(odd["detail"] == nil)
    }
}
