/// Refill volumes that are probably a unit slip: `--added 20uL` meant as
/// 20 mL fills a 20 mL reservoir with a thousandth of what was meant, and
/// the pump runs dry hours later (withdrawal).
public enum RefillPlausibility {
    /// A fill is implausible when it is below the low-reservoir alarm
    /// threshold (the pump would alarm at once) or below a hundredth of the
    /// reservoir. The finding says how long it lasts at `dailyVolume`.
    public static func findings(added: Volume, capacity: Volume, alarmThreshold: Volume, dailyVolume: VolumeRate) -> [Finding] {
        guard added.baseValue > 0, added < alarmThreshold || added.baseValue.saturatingMultiply(100) < capacity.baseValue else { return [] }
        var message = "\(added) added is far below the scale of the \(capacity) reservoir (the low-reservoir alarm is at \(alarmThreshold))"
        // nL / (nL/day) x 86400 s/day = seconds the fill lasts.
        if dailyVolume.baseValue > 0, let seconds = Exact.mulDiv(added.baseValue, 86_400, dailyVolume.baseValue, rounding: .down) {
            message += "; at \(dailyVolume) it lasts about \(Duration(baseValue: seconds - seconds % 60))"
        }
        if let meant = Exact.multiply(added.baseValue, 1_000), meant <= capacity.baseValue {
            message += "; did you mean \(Volume(baseValue: meant))?"
        }
        return [Finding(code: .refillVolumeImplausible, severity: .soft, message: message)]
    }
}
