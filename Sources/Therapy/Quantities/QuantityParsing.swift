/// Why a quantity written as text was refused. Each case says what to write
/// instead; nothing is guessed.
public enum QuantityParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(length: Int)
    /// A number with no unit: units are never assumed.
    case missingUnit(number: String, dimension: String, examples: [String])
    /// `.5mL`: the point is easy to miss, so a leading zero is required.
    case leadingDecimalPoint(text: String, suggestion: String)
    /// `5.mL`
    case trailingDecimalPoint(text: String, suggestion: String)
    /// `5.0mL` or `0.50mL`: a trailing zero turns 5.0 into 50 when the point is missed.
    case trailingZeros(text: String, suggestion: String)
    /// `05mL`
    case leadingZeros(text: String, suggestion: String)
    case negative(text: String)
    case malformedNumber(text: String)
    /// A unit of another dimension (`mg` where a concentration is expected).
    case wrongDimension(unit: String, isA: String, expected: String, examples: [String])
    case unknownUnit(unit: String, dimension: String, examples: [String])
    /// Finer than the base unit (`0.0001mcg` is 0.1 ng).
    case tooPrecise(text: String, smallest: String)
    case outOfRange(text: String)

    public var description: String {
        switch self {
        case .empty:
            return "no quantity given; write a number with its unit"
        case .tooLong(let length):
            return "a quantity of \(length) characters is too long to be a dose, rate or volume"
        case .missingUnit(let number, let dimension, let examples):
            return "'\(number)' has no unit; a \(dimension) needs one, e.g. \(examples.joined(separator: " or "))"
        case .leadingDecimalPoint(let text, let suggestion):
            return "'\(text)' starts with a decimal point, which is easy to miss; write \(suggestion)"
        case .trailingDecimalPoint(let text, let suggestion):
            return "'\(text)' ends its number with a decimal point; write \(suggestion)"
        case .trailingZeros(let text, let suggestion):
            return "'\(text)' has a trailing zero after the decimal point, which reads as ten times the value if the point is missed; write \(suggestion)"
        case .leadingZeros(let text, let suggestion):
            return "'\(text)' has leading zeros; write \(suggestion)"
        case .negative(let text):
            return "'\(text)' is negative; doses, rates, volumes and times are never negative"
        case .malformedNumber(let text):
            return "'\(text)' is not a number followed by a unit (e.g. 400mcg/day)"
        case .wrongDimension(let unit, let isA, let expected, let examples):
            return "'\(unit)' is a unit of \(isA), but a \(expected) is needed, e.g. \(examples.joined(separator: " or "))"
        case .unknownUnit(let unit, let dimension, let examples):
            return "'\(unit)' is not a unit of \(dimension) this program knows; use one of \(examples.joined(separator: ", "))"
        case .tooPrecise(let text, let smallest):
            return "'\(text)' is finer than the smallest unit the program keeps (1 \(smallest))"
        case .outOfRange(let text):
            return "'\(text)' is far outside any therapeutic value"
        }
    }
}

extension Quantity {
    /// The longest text accepted: generous for `1234567.123456789 mcg/day`,
    /// short enough that no input makes parsing costly.
    public static var maximumTextLength: Int { 40 }

    /// Parses `400mcg/day`, `2000 mcg/mL`, `0.5mL/day`, `90min`.
    public init(parsing text: String) throws(QuantityParseError) {
        self = try Self.parseWithUnit(text).quantity
    }

    /// Parses and also returns the unit the person wrote, so output can
    /// answer in the same unit (mg stays mg).
    public static func parseWithUnit(_ text: String) throws(QuantityParseError) -> (quantity: Quantity, unit: QuantityUnit<D>) {
        guard text.count <= maximumTextLength else { throw .tooLong(length: text.count) }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        // One example per distinct unit size: "1mg/mL or 1mcg/mL", not two spellings of mg/mL.
        var examples: [String] = []
        var factors: [Int64] = []
        for unit in D.units where !factors.contains(unit.basePerUnit) && examples.count < 2 {
            factors.append(unit.basePerUnit)
            examples.append("1" + unit.symbol)
        }
        let scalars = Array(trimmed.unicodeScalars)
        if scalars[0] == "-" { throw .negative(text: trimmed) }
        if scalars[0] == "+" { throw .malformedNumber(text: trimmed) }
        // The number: digits with at most one point.
        var index = 0
        while index < scalars.count, scalars[index].isASCIIDigit || scalars[index] == "." { index += 1 }
        let number = String(String.UnicodeScalarView(scalars[0..<index]))
        let unitText = String(String.UnicodeScalarView(scalars[index...])).trimmingWhitespace()
        guard !number.isEmpty else { throw .malformedNumber(text: trimmed) }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw .malformedNumber(text: trimmed) }
        let integerPart = String(parts[0])
        let fractionPart = parts.count == 2 ? String(parts[1]) : nil
        let unitForSuggestion = unitText.isEmpty ? D.defaultUnit.symbol : unitText
        if integerPart.isEmpty {
            guard let fractionPart, !fractionPart.isEmpty else { throw .malformedNumber(text: trimmed) }
            throw .leadingDecimalPoint(text: trimmed, suggestion: "0." + fractionPart + unitForSuggestion)
        }
        if let fractionPart, fractionPart.isEmpty {
            throw .trailingDecimalPoint(text: trimmed, suggestion: integerPart + unitForSuggestion)
        }
        if let fractionPart, fractionPart.hasSuffix("0") {
            var kept = String(fractionPart)
            while kept.hasSuffix("0") { kept.removeLast() }
            throw .trailingZeros(text: trimmed, suggestion: integerPart + (kept.isEmpty ? "" : "." + kept) + unitForSuggestion)
        }
        if integerPart.count > 1 && integerPart.hasPrefix("0") {
            var kept = integerPart
            while kept.count > 1 && kept.hasPrefix("0") { kept.removeFirst() }
            throw .leadingZeros(text: trimmed, suggestion: kept + (fractionPart.map { "." + $0 } ?? "") + unitForSuggestion)
        }
        guard !unitText.isEmpty else {
            throw .missingUnit(number: number, dimension: D.name, examples: examples)
        }
        guard let unit = QuantityUnit<D>.named(unitText) else {
            if let other = allUnitSymbols.first(where: { $0.symbol == unitText }) {
                throw .wrongDimension(unit: unitText, isA: other.dimension, expected: D.name, examples: examples)
            }
            throw .unknownUnit(unit: unitText, dimension: D.name, examples: D.units.map(\.symbol))
        }
        let fraction = fractionPart ?? ""
        // 15 + 9 digits bound the work and keep the integer below 10^24 before scaling.
        guard integerPart.count <= 15, fraction.count <= 9,
              let mantissa = Int64(integerPart + fraction) else { throw .outOfRange(text: trimmed) }
        var scale: Int64 = 1
        for _ in 0..<fraction.count { scale *= 10 }
        guard let down = Exact.mulDiv(mantissa, unit.basePerUnit, scale, rounding: .down),
              let up = Exact.mulDiv(mantissa, unit.basePerUnit, scale, rounding: .up) else {
            throw .outOfRange(text: trimmed)
        }
        guard down == up else {
            var smallest = "base unit"
            for candidate in D.units where candidate.basePerUnit == 1 { smallest = candidate.symbol }
            throw .tooPrecise(text: trimmed, smallest: smallest)
        }
        guard down <= TherapyModule.quantityLimit else { throw .outOfRange(text: trimmed) }
        return (Quantity(baseValue: down), unit)
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
