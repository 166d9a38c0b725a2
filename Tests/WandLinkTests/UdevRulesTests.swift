import Foundation
import Testing
@testable import WandLink

/// The shipped udev rules: well-formed, matching the wand's identity, and
/// never opening the wand to every local user.
@Suite struct UdevRulesTests {
    static let files = ["60-pumpwand.rules", "61-pumpwand-uaccess.rules", "62-pumpwand-group.rules"]

    struct Assignment: Equatable { var key: String; var op: String; var value: String }

    /// The rule lines of a file (comments and blank lines dropped), each
    /// split into `KEY{attr}OP"value"` items. Nil for an item that does not
    /// have that shape, which udev would reject.
    static func rules(_ file: String) throws -> [[Assignment?]] {
        let text = try RepositoryFiles.text("udev-rules/\(file)")
        let item = /^\s*([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*$/
        return text.split(separator: "\n").compactMap { line -> [Assignment?]? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            return Self.splitItems(trimmed).map { part in
                (try? item.wholeMatch(in: part)).map { Assignment(key: String($0.1), op: String($0.2), value: String($0.3)) }
            }
        }
    }

    /// Splits a rule line at the commas between items, not those in quotes.
    static func splitItems(_ line: String) -> [Substring] {
        var parts: [Substring] = []
        var start = line.startIndex
        var quoted = false
        for index in line.indices {
            if line[index] == "\"" { quoted.toggle() }
            if line[index] == ",", !quoted {
                parts.append(line[start..<index])
                start = line.index(after: index)
            }
        }
        parts.append(line[start...])
        return parts
    }

    static var vendor: String { String(format: "%04x", WandIdentity.vendorID) }
    static var product: String { String(format: "%04x", WandIdentity.productID) }

    @Test(arguments: files)
    func everyRuleIsWellFormed(file: String) throws {
        let rules = try Self.rules(file)
        #expect(!rules.isEmpty)
        for rule in rules {
            #expect(rule.allSatisfy { $0 != nil }, "malformed item in \(file): \(rule)")
        }
    }

    @Test(arguments: files)
    func noRuleOpensTheWandToOtherUsers(file: String) throws {
        let text = try RepositoryFiles.text("udev-rules/\(file)")
        let modes = try Self.rules(file).flatMap { $0 }.compactMap { $0 }.filter { $0.key == "MODE" }
        for mode in modes {
            // The last octal digit is "others": it must grant nothing.
            #expect(mode.value.count == 4 && mode.value.hasSuffix("0"), "\(file) sets MODE=\(mode.value)")
        }
        let ruleText = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined()
        #expect(!ruleText.contains("0666"))
    }

    @Test func theWandRuleMatchesTheIdentityOnTheDeviceAndItsTty() throws {
        let rules = try Self.rules("60-pumpwand.rules").map { $0.compactMap { $0 } }
        let device = try #require(rules.first { $0.contains(Assignment(key: "SUBSYSTEM", op: "==", value: "usb")) })
        #expect(device.contains(Assignment(key: "ATTR{idVendor}", op: "==", value: Self.vendor)))
        #expect(device.contains(Assignment(key: "ATTR{idProduct}", op: "==", value: Self.product)))
        #expect(device.contains(Assignment(key: "ENV{DEVTYPE}", op: "==", value: "usb_device")))
        #expect(device.contains(Assignment(key: "ENV{ID_PUMPWAND}", op: "=", value: "1")))

        let tty = try #require(rules.first { $0.contains(Assignment(key: "SUBSYSTEM", op: "==", value: "tty")) })
        #expect(tty.contains(Assignment(key: "ATTRS{idVendor}", op: "==", value: Self.vendor)))
        #expect(tty.contains(Assignment(key: "ATTRS{idProduct}", op: "==", value: Self.product)))
        #expect(tty.contains(Assignment(key: "ENV{ID_MM_DEVICE_IGNORE}", op: "=", value: "1")))
        #expect(tty.contains(Assignment(key: "ENV{ID_PUMPWAND}", op: "=", value: "1")))
        // The serial-number link needs usb_id's ID_SERIAL_SHORT on the tty.
        #expect(tty.contains(Assignment(key: "IMPORT{builtin}", op: "=", value: "usb_id")))
        #expect(tty.contains(Assignment(key: "SYMLINK", op: "+=", value: "pumpwand/by-serial/$env{ID_SERIAL_SHORT}")))
    }

    @Test func theRulesUseTheIdentityInTheDocument() throws {
        let table = try USBIdentityDocumentTests.identityTable()
        let documented = (
            USBIdentityDocumentTests.hex(table["Vendor id"]).map { String(format: "%04x", $0) },
            USBIdentityDocumentTests.hex(table["Product id"]).map { String(format: "%04x", $0) })
        #expect(documented.0 == Self.vendor)
        #expect(documented.1 == Self.product)
        // Every id the rules match on is the documented one.
        for file in Self.files {
            for item in try Self.rules(file).flatMap({ $0 }).compactMap({ $0 }) {
                if item.key.hasSuffix("{idVendor}") { #expect(item.value == documented.0, "\(file)") }
                if item.key.hasSuffix("{idProduct}") { #expect(item.value == documented.1, "\(file)") }
            }
        }
    }

    @Test func theSeatUserIsGrantedAccessBeforeSeatLateRulesRun() throws {
        // 73-seat-late.rules turns the uaccess tag into an ACL: ours must sort first.
        #expect("61-pumpwand-uaccess.rules" < "73-seat-late.rules")
        let rules = try Self.rules("61-pumpwand-uaccess.rules").map { $0.compactMap { $0 } }
        for subsystem in ["usb", "tty"] {
            let rule = try #require(rules.first { $0.contains(Assignment(key: "SUBSYSTEM", op: "==", value: subsystem)) })
            #expect(rule.contains(Assignment(key: "TAG", op: "+=", value: "uaccess")))
            #expect(rule.contains(Assignment(key: "ENV{ID_PUMPWAND}", op: "==", value: "1")))
        }
    }

    @Test func theGroupRuleUsesTheDedicatedGroupWithMode0660() throws {
        let rules = try Self.rules("62-pumpwand-group.rules").map { $0.compactMap { $0 } }
        let granting = rules.filter { $0.contains { $0.key == "GROUP" } }
        #expect(granting.count == 2)
        for rule in granting {
            #expect(rule.contains(Assignment(key: "GROUP", op: "=", value: "pumpwand")))
            #expect(rule.contains(Assignment(key: "MODE", op: "=", value: "0660")))
        }
        // The group lives in its own file: the other files grant no group.
        for file in ["60-pumpwand.rules", "61-pumpwand-uaccess.rules"] {
            #expect(!(try Self.rules(file).flatMap { $0 }.contains { $0?.key == "GROUP" || $0?.key == "MODE" }))
        }
    }

    @Test func theReadmeSaysWhereRulesGoAndHowToApplyThem() throws {
        let text = try RepositoryFiles.text("udev-rules/README.md")
        for phrase in ["/usr/lib/udev/rules.d", "/etc/udev/rules.d", "udevadm control --reload", "udevadm trigger",
                       WandTransportError.udevRulesInstallCommand] {
            #expect(text.contains(phrase), "README lacks \(phrase)")
        }
    }
}
