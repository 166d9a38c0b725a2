import WandProtocol

/// Who the simulated pump is.
public struct PumpIdentity: Codable, Sendable, Equatable {
    public var serial: String
    /// The Therapy pump profile's model name, `RP-20` or `RP-40`.
    public var model: String
    public var firmware: [UInt8]
    /// The pump's secret key, 32 bytes. Stored in the simulator's state file,
    /// which is written private (mode 0600).
    public var key: [UInt8]
    /// True for the published demo key: anyone can open a session with it.
    public var keyIsDemo: Bool

    /// The simulator's published demo key: 32 bytes counting up from 0x00.
    /// DEMO ONLY: it is printed in the documentation, so it protects nothing.
    public static let demoKey: [UInt8] = Array(0..<32)
    public static let demoSerial = "RP20-DEMO-0001"

    public static func demo(model: String) -> PumpIdentity {
        PumpIdentity(
            serial: model == "RP-40" ? "RP40-DEMO-0001" : demoSerial, model: model, firmware: [1, 0, 0],
            key: demoKey, keyIsDemo: true)
    }
}
