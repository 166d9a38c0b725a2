/// Exact decimal text for a ratio of integers, without trailing zeros.
enum DecimalText {
    /// `value / divisor` as decimal text. `exact` is false when the ratio has
    /// no finite decimal expansion (a factor of 3 from an hourly unit); the
    /// text is then truncated toward zero at nine decimal places.
    static func format(_ value: Int64, per divisor: Int64) -> (text: String, exact: Bool) {
        guard divisor > 0 else { return (String(value), true) }
        let negative = value < 0
        let magnitude = value.magnitude
        let unsignedDivisor = divisor.magnitude
        let whole = magnitude / unsignedDivisor
        var remainder = magnitude % unsignedDivisor
        var digits = ""
        // Long division; remainder < divisor <= 2^63 so remainder * 10 fits.
        while remainder != 0 && digits.count < 9 {
            let (scaled, overflow) = remainder.multipliedReportingOverflow(by: 10)
            // Only a unit over 1.8 x 10^18 base units could overflow here; stop and mark the text inexact.
            if overflow { break }
            digits.append(Character(String(scaled / unsignedDivisor)))
            remainder = scaled % unsignedDivisor
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        var text = String(whole)
        if !digits.isEmpty { text += "." + digits }
        if negative && (whole != 0 || !digits.isEmpty) { text = "-" + text }
        return (text, remainder == 0)
    }
}
