import Therapy

/// How quantities read on every screen and report: one display precision
/// per kind of quantity, so the same figure never appears as `11.999983mL`
/// on one line and `12mL` on the next. The stored and compared values are
/// never rounded: this is only text, and JSON carries the exact values.
///
/// - volumes (reservoir, residual, refill, threshold, line): 0.01 mL
/// - bolus volumes (what one bolus pushes, often 0.025 mL): 0.001 mL, so a
///   prompt never shows a bolus rounded to a volume that will not be pushed
/// - volume rates: 0.001 mL/day
/// - doses, dose rates and concentrations: in the drug's unit (the shipped
///   drug library's `dose_unit`) to the drug's precision, `DosePrecision`
/// - durations: the largest whole unit, or days and hours (`Shown.duration`)
public enum Shown {
    /// The precision doses of a drug are shown to.
    public struct DosePrecision: Sendable, Equatable {
        /// The mass unit: mcg or mg.
        public var massUnit: QuantityUnit<MassDimension>
        /// Decimal places in that unit.
        public var decimals: Int
    }

    /// mcg drugs to 0.1 mcg (ziconotide, dosed in tenths of a microgram a
    /// day, to 0.01 mcg); mg drugs to 0.001 mg.
    public static func precision(for drug: Drug) -> DosePrecision {
        let unit = shippedUnits[drug] ?? "mcg"
        if unit == "mg" { return DosePrecision(massUnit: .mg, decimals: 3) }
        return DosePrecision(massUnit: .mcg, decimals: drug == .ziconotide ? 2 : 1)
    }

    private static let shippedUnits: [Drug: String] = {
        guard let library = try? ClinicPolicy.shippedDefaults() else { return [:] }
        var units: [Drug: String] = [:]
        for entry in library.drugs { units[entry.drug] = entry.doseUnit }
        return units
    }()

    public static func volume(_ value: Volume) -> String {
        rounded(value.baseValue, per: 1_000_000, decimals: 2) + "mL"
    }

    public static func bolusVolume(_ value: Volume) -> String {
        rounded(value.baseValue, per: 1_000_000, decimals: 3) + "mL"
    }

    public static func volumeRate(_ value: VolumeRate) -> String {
        rounded(value.baseValue, per: 1_000_000, decimals: 3) + "mL/day"
    }

    public static func dose(_ value: Mass, drug: Drug) -> String {
        let precision = precision(for: drug)
        return rounded(value.baseValue, per: precision.massUnit.basePerUnit, decimals: precision.decimals) + precision.massUnit.symbol
    }

    public static func doseRate(_ value: DoseRate, drug: Drug) -> String {
        let precision = precision(for: drug)
        return rounded(value.baseValue, per: precision.massUnit.basePerUnit, decimals: precision.decimals)
            + precision.massUnit.symbol + "/day"
    }

    public static func concentration(_ value: Concentration, drug: Drug) -> String {
        let precision = precision(for: drug)
        return rounded(value.baseValue, per: precision.massUnit.basePerUnit, decimals: precision.decimals)
            + precision.massUnit.symbol + "/mL"
    }

    /// A duration in words a person reads at a glance: `45 s`, `12 min`,
    /// `3 h 5 min`, `80 days`, `2 days 4 h`.
    public static func duration(seconds: Int64) -> String {
        let magnitude = seconds.magnitude
        if magnitude < 60 { return "\(magnitude) s" }
        if magnitude < 3_600 {
            let minutes = (magnitude + 30) / 60
            return minutes == 60 ? "1 h" : "\(minutes) min"
        }
        if magnitude < 2 * 86_400 {
            let minutes = (magnitude + 30) / 60
            let hours = minutes / 60, rest = minutes % 60
            return rest == 0 ? "\(hours) h" : "\(hours) h \(rest) min"
        }
        let hours = (magnitude + 1_800) / 3_600
        let days = hours / 24, rest = hours % 24
        if days >= 10 || rest == 0 { return "\((magnitude + 43_200) / 86_400) days" }
        return "\(days) days \(rest) h"
    }

    public static func duration(_ value: Duration) -> String { duration(seconds: value.baseValue) }

    /// A clock drift: `12 min ahead`, `3 s behind`, `in step`.
    public static func drift(seconds: Int64) -> String {
        if seconds == 0 { return "in step" }
        return duration(seconds: seconds) + (seconds > 0 ? " ahead" : " behind")
    }

    /// `base / per` rounded half away from zero to `decimals` places, with
    /// no trailing zeros; integer arithmetic only, never traps.
    static func rounded(_ base: Int64, per: Int64, decimals: Int) -> String {
        guard per > 0, decimals >= 0 else { return String(base) }
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let divisor = UInt64(per)
        // One display step in base units; a unit finer than the step shows exactly.
        let step = max(1, divisor / scale)
        let magnitude = base.magnitude
        var steps = magnitude / step
        if (magnitude % step) * 2 >= step { steps += 1 }
        let stepsPerUnit = divisor / step
        let whole = steps / stepsPerUnit
        var fraction = steps % stepsPerUnit
        var digits = ""
        var width = 0
        var unitSteps = stepsPerUnit
        while unitSteps > 1 { unitSteps /= 10; width += 1 }
        for _ in 0..<width {
            digits = String(fraction % 10) + digits
            fraction /= 10
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        var text = String(whole)
        if !digits.isEmpty { text += "." + digits }
        if base < 0 && text != "0" { text = "-" + text }
        return text
    }
}

extension Shown {
    /// What the line still holds ahead of the reservoir's drug and how each
    /// stretch reaches the patient, one sentence each; `time` formats the
    /// moment the reservoir's drug arrives (local time on a screen).
    public static func transition(_ transition: LineTransition, reservoir: FluidPath.Contents,
                                  time: (PumpTime) -> String) -> [String] {
        var lines: [String] = []
        for stretch in transition.stretches {
            let how = stretch.duration.map { "over about \(duration($0))" } ?? "only once the pump delivers again"
            switch stretch.contents {
            case .noDrug:
                lines.append(stretch.duration.map { "\(volume(stretch.volume)) of the line holds no drug (air or saline): the prescription pushes it out over about \(duration($0)), delivering no drug meanwhile; a prime does it in minutes (pumpctl bolus --kind prime)." }
                             ?? "\(volume(stretch.volume)) of the line holds no drug (air or saline): prime it (pumpctl bolus --kind prime) before the pump can deliver drug.")
            case .drug(let drug, let held):
                if drug == reservoir.drug {
                    lines.append("\(volume(stretch.volume)) of \(drug.rawValue) \(concentration(held, drug: drug)) is still in the line: the pump delivers it at the prescribed daily dose (by dose at the catheter tip), \(how).")
                } else {
                    lines.append("\(volume(stretch.volume)) of \(drug.rawValue) \(concentration(held, drug: drug)) is still in the line: the pump delivers it at its own last prescription, \(how).")
                }
            }
        }
        if let arrives = transition.reservoirDrugArrives, case .drug(let drug, let held) = reservoir {
            lines.append("The \(drug.rawValue) \(concentration(held, drug: drug)) from the reservoir reaches the patient at about \(time(arrives)); from then the pump runs the prescription as written.")
        }
        return lines
    }
}
