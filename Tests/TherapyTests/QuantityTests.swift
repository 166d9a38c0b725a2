import Foundation
import PropertyBased
import Testing
@testable import Therapy

@Suite struct QuantityParsingTests {
    @Test(arguments: [
        // text, expected base units, with the working
        ("400mcg/day", Int64(400_000)),      // 400 mcg = 400 * 1000 ng
        ("2000 mcg/mL", Int64(2_000_000)),   // 2000 * 1000 ng/mL
        ("0.5mL/day", Int64(500_000)),       // 0.5 * 10^6 nL/day
        ("2mg", Int64(2_000_000)),           // 2 * 10^6 ng
        ("90min", Int64(5_400)),             // 90 * 60 s
        ("30d", Int64(2_592_000)),           // 30 * 86400 s
    ])
    func issueExamplesParseExactly(text: String, base: Int64) throws {
        switch text {
        case "400mcg/day": #expect((try? DoseRate(parsing: text))?.baseValue == base)
        case "2000 mcg/mL": #expect((try? Concentration(parsing: text))?.baseValue == base)
        case "0.5mL/day": #expect((try? VolumeRate(parsing: text))?.baseValue == base)
        case "2mg": #expect((try? Mass(parsing: text))?.baseValue == base)
        default: #expect((try? Duration(parsing: text))?.baseValue == base)
        }
    }

    @Test func mgAndMcgConvertExactly() throws {
        // 2 mg = 2000 mcg = 2_000_000 ng
        #expect(try Mass(parsing: "2mg") == Mass(parsing: "2000mcg"))
        // 0.001 mg = 1 mcg = 1000 ng
        #expect(try Mass(parsing: "0.001mg").baseValue == 1_000)
        // 10 mg/mL = 10_000 mcg/mL
        #expect(try Concentration(parsing: "10mg/mL") == Concentration(parsing: "10000mcg/mL"))
    }

    @Test func hourlyRatesConvertToDaily() throws {
        // 0.1 mL/h * 24 h = 2.4 mL/day = 2_400_000 nL/day
        #expect(try VolumeRate(parsing: "0.1mL/h").baseValue == 2_400_000)
        // 0.1 mcg/h * 24 = 2.4 mcg/day = 2400 ng/day
        #expect(try DoseRate(parsing: "0.1mcg/h").baseValue == 2_400)
    }

    @Test func unitlessNumbersAreRefused() {
        #expect(throws: QuantityParseError.missingUnit(number: "400", dimension: "dose rate", examples: ["1mg/day", "1mcg/day"])) {
            try DoseRate(parsing: "400")
        }
    }

    @Test func leadingDecimalPointIsRefusedWithTheSpelledOutForm() throws {
        do {
            _ = try Volume(parsing: ".5mL")
            Issue.record("'.5mL' was accepted")
        } catch {
            #expect(error == .leadingDecimalPoint(text: ".5mL", suggestion: "0.5mL"))
            #expect(error.description.contains("write 0.5mL"))
        }
    }

    @Test func trailingZerosAndPointsAreRefused() {
        #expect(throws: QuantityParseError.trailingZeros(text: "5.0mL", suggestion: "5mL")) { try Volume(parsing: "5.0mL") }
        #expect(throws: QuantityParseError.trailingZeros(text: "0.50mL", suggestion: "0.5mL")) { try Volume(parsing: "0.50mL") }
        #expect(throws: QuantityParseError.trailingDecimalPoint(text: "5.mL", suggestion: "5mL")) { try Volume(parsing: "5.mL") }
        #expect(throws: QuantityParseError.leadingZeros(text: "05mL", suggestion: "5mL")) { try Volume(parsing: "05mL") }
    }

    @Test func wrongDimensionNamesWhatTheUnitIs() {
        #expect(throws: QuantityParseError.wrongDimension(unit: "mg", isA: "mass", expected: "concentration", examples: ["1mg/mL", "1mcg/mL"])) {
            try Concentration(parsing: "2mg")
        }
    }

    @Test func misleadingSpellingsAreRefused() {
        // ug is the ISMP error-prone abbreviation for mcg.
        #expect(throws: QuantityParseError.self) { try Mass(parsing: "100ug") }
        #expect(throws: QuantityParseError.negative(text: "-1mL")) { try Volume(parsing: "-1mL") }
        #expect(throws: QuantityParseError.malformedNumber(text: "1.2.3mL")) { try Volume(parsing: "1.2.3mL") }
        #expect(throws: QuantityParseError.malformedNumber(text: "mL")) { try Volume(parsing: "mL") }
        #expect(throws: QuantityParseError.empty) { try Volume(parsing: "  ") }
        #expect(throws: QuantityParseError.tooLong(length: 41)) { try Volume(parsing: String(repeating: "1", count: 41)) }
    }

    @Test func valuesFinerThanTheBaseUnitOrHugeAreRefused() {
        // 0.0001 mcg = 0.1 ng: not a whole number of nanograms.
        #expect(throws: QuantityParseError.tooPrecise(text: "0.0001mcg", smallest: "ng")) { try Mass(parsing: "0.0001mcg") }
        // 10^9 mL = 10^15 nL is the limit; 10^9 + 1 mL is beyond it.
        #expect(throws: Never.self) { try Volume(parsing: "1000000000mL") }
        #expect(throws: QuantityParseError.outOfRange(text: "1000000001mL")) { try Volume(parsing: "1000000001mL") }
        #expect(throws: QuantityParseError.outOfRange(text: "9999999999999999mL")) { try Volume(parsing: "9999999999999999mL") }
    }

    @Test func arbitraryTextNeverCrashes() async {
        await propertyCheck(count: 500, input: Gen.ascii.string(of: 0...45)) { text in
            // Either a value within the limit or a typed error; never a trap.
            if let value = try? Volume(parsing: text) {
                #expect(value.baseValue >= 0 && value.baseValue <= TherapyModule.quantityLimit)
            }
        }
    }
}

@Suite struct QuantityFormattingTests {
    @Test func printingHasNoTrailingZeros() {
        #expect(Volume(baseValue: 500_000).description == "0.5mL")       // 500000 nL / 10^6
        #expect(Volume(baseValue: 20_000_000).description == "20mL")
        #expect(DoseRate(baseValue: 400_000).description == "400mcg/day")
        #expect(DoseRate(baseValue: 19_200).description == "19.2mcg/day") // 19200 ng / 1000
        #expect(Duration(baseValue: 5_400).description == "90min")        // 5400 s = 90 * 60, not whole hours
        #expect(Duration(baseValue: 2_592_000).description == "30d")
        #expect(Mass(baseValue: 2_000_000).formatted(in: .mg) == "2mg")
    }

    @Test func inexactUnitsAreMarked() {
        // 1 nL/day in mL/h = 1 / 24_000_000: no finite decimal.
        let rate = VolumeRate(baseValue: 1)
        let perHour = QuantityUnit<VolumeRateDimension>.mLPerHour
        #expect(!rate.isExact(in: perHour))
        #expect(rate.formatted(in: perHour).hasPrefix("~"))
    }

    @Test func jsonIsValueAndUnitWithAnExactNumber() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(VolumeRate(baseValue: 200_000)), as: UTF8.self)
        #expect(text == #"{"unit":"mL\/day","value":0.2}"#)
        let dose = String(decoding: try encoder.encode(DoseRate(baseValue: 19_200)), as: UTF8.self)
        #expect(dose == #"{"unit":"mcg\/day","value":19.2}"#)
    }

    @Test func jsonDecodesBothForms() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(DoseRate.self, from: Data(#""400mcg/day""#.utf8)) == .mcgPerDay(400))
        #expect(try decoder.decode(DoseRate.self, from: Data(#"{"value":0.4,"unit":"mg/day"}"#.utf8)) == .mcgPerDay(400))
        #expect(throws: DecodingError.self) { try decoder.decode(DoseRate.self, from: Data(#""400""#.utf8)) }
    }
}

@Suite struct QuantityProperties {
    @Test func printingThenParsingRoundTrips() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000_000_000)) { raw in
            let base = Int64(raw)
            #expect((try? Volume(parsing: Volume(baseValue: base).description))?.baseValue == base)
            #expect((try? DoseRate(parsing: DoseRate(baseValue: base).description))?.baseValue == base)
            #expect((try? Concentration(parsing: Concentration(baseValue: base).description))?.baseValue == base)
            #expect((try? Duration(parsing: Duration(baseValue: base).description))?.baseValue == base)
            #expect((try? Mass(parsing: Mass(baseValue: base).formatted(in: .mg)))?.baseValue == base)
        }
    }

    @Test func printedTextNeverHasTrailingZerosAfterThePoint() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000_000_000)) { raw in
            let text = Volume(baseValue: Int64(raw)).description
            let number = text.dropLast(2)
            if number.contains(".") { #expect(!number.hasSuffix("0")) }
            #expect(!number.hasPrefix("."))
        }
    }

    @Test func mulDivMatchesWideArithmetic() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max)), Gen.int(in: 0...Int(Int32.max)), Gen.int(in: 1...1_000_000)) { a, b, c in
            // a * b < 2^62 here, so plain Int64 arithmetic is a valid oracle.
            let product = Int64(a) * Int64(b)
            #expect(Exact.mulDiv(Int64(a), Int64(b), Int64(c), rounding: .down) == product / Int64(c))
            let up = product / Int64(c) + (product % Int64(c) == 0 ? 0 : 1)
            #expect(Exact.mulDiv(Int64(a), Int64(b), Int64(c), rounding: .up) == up)
        }
    }

    @Test func mulDivRefusesOverflowInsteadOfTrapping() {
        #expect(Exact.mulDiv(Int64.max, 2, 1, rounding: .down) == nil)
        // (2^62) * 4 / 2 = 2^63 does not fit; / 4 gives 2^62 which does.
        #expect(Exact.mulDiv(1 << 62, 4, 2, rounding: .down) == nil)
        #expect(Exact.mulDiv(1 << 62, 4, 4, rounding: .down) == 1 << 62)
    }
}
