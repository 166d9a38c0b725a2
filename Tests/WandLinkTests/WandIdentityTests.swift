import Testing
@testable import WandLink

@Suite struct WandIdentityTests {
    @Test(arguments: [
        ("PW1-000123", true), ("PW9-999999", true),
        ("PW1-00012", false), ("PW1000123X", false), ("pw1-000123", false), ("PWA-000123", false), ("", false),
    ])
    func serialNumberFormat(serial: String, valid: Bool) {
        #expect(WandIdentity.isValidSerialNumber(serial) == valid)
    }

    @Test(arguments: [(UInt16(0x0100), "1.00"), (0x0102, "1.02"), (0x1234, "12.34"), (0x0000, "0.00")])
    func firmwareVersionIsBinaryCodedDecimal(bcd: UInt16, text: String) {
        #expect(WandRecord.firmwareVersion(bcdDevice: bcd) == text)
    }
}
