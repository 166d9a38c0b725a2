import WandProtocol

extension SimulatedPump {
    /// Re-key (0x15): the pump takes the new long-term key for the sessions
    /// after this one. The session that sent it keeps its session keys; the
    /// simulation's endpoint picks the new key up at the next handshake
    /// (`PumpSimulation`). The key is no longer the published demo key, so
    /// the identity stops saying so. Logged with the new key's id, never the
    /// key; stored in the persisted state with the rest of the identity.
    mutating func rekey(_ message: Rekey) -> PumpReply {
        identity.key = message.newKey
        identity.keyIsDemo = message.newKey == PumpIdentity.demoKey
        eventLog.append(time: clock, code: PumpEventCode.keyChanged.rawValue, detail: Rekey.keyId(message.newKey))
        return .executed(.rekey, CommandReceipt(commandId: message.commandId, executedAtUTCSeconds: clock))
    }
}
