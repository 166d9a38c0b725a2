import Foundation
import Testing
import TestSupport

/// scripts/sbom.py: the CycloneDX SBOM of the package, checked with the
/// cyclonedx-python-lib validator (PyPI, in the environment
/// scripts/install-deps.sh makes) and against Package.resolved and the
/// Debian package database it was made from.
@Suite(.serialized, .tags(.process), .childProcesses) struct SBOMTests {
    static let root = PythonTools.root
    static let script = root.appendingPathComponent("scripts/sbom.py").path

    /// cyclonedx-python-lib's strict JSON validator for CycloneDX 1.6:
    /// prints one `path: message` line per violation and exits 1, 0 when
    /// the document conforms.
    static let validator = """
        import sys
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
        errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read(), all_errors=True)
        lines = [] if errors is None else [e.data.json_path + ": " + e.data.message.splitlines()[0] for e in errors]
        print("\\n".join(lines))
        sys.exit(1 if lines else 0)
        """

    static func violations(of file: String) async throws -> [String] {
        let python = try await PythonTools.python(importing: "cyclonedx.validation.json", package: "cyclonedx-python-lib")
        let run = try await ChildProcess.run(python, ["-c", validator, file], mergingStandardError: true, timeLimit: .seconds(120))
        switch run.status {
        case 0: return []
        case 1: return run.stdout.split(separator: "\n").map(String.init)
        default:
            Issue.record("the validator failed: \(run.stdout)")
            return ["validator failed"]
        }
    }

    static func generate(root: String = root.path, environment: [String: String] = [:]) async throws -> (ChildProcess.Result, String) {
        let output = NSTemporaryDirectory() + "pumpwand-sbom-" + UUID().uuidString + ".json"
        let run = try await ChildProcess.run(try PythonTools.systemPython(), [script, "--package-root", root, "--output", output],
                                             environment: environment, timeLimit: .seconds(120))
        return (run, output)
    }

    static func object(_ file: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
    }

    @Test func theSBOMIsValidCycloneDXAndNamesEveryPinnedPackageAndSystemLibrary() async throws {
        let (run, file) = try await Self.generate(environment: ["SOURCE_DATE_EPOCH": "1790000000"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(run.status == 0, "\(run.stderr)")
        let problems = try await Self.violations(of: file)
        #expect(problems.isEmpty, "\(problems)")

        let sbom = try Self.object(file)
        #expect(sbom["bomFormat"] as? String == "CycloneDX")
        #expect(sbom["specVersion"] as? String == "1.6")
        let components = try #require(sbom["components"] as? [[String: Any]])
        func component(_ ref: String) -> [String: Any]? { components.first { $0["bom-ref"] as? String == ref } }
        // An SPDX id, or an expression (`Apache-2.0 WITH Swift-exception`).
        func licence(_ component: [String: Any]?) -> String? {
            let first = (component?["licenses"] as? [[String: Any]])?.first
            return (first?["license"] as? [String: Any])?["id"] as? String ?? first?["expression"] as? String
        }

        // Every pin of Package.resolved, at its version and revision.
        let resolved = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.root.appendingPathComponent("Package.resolved"))) as? [String: Any])
        let pins = try #require(resolved["pins"] as? [[String: Any]])
        #expect(!pins.isEmpty)
        for pin in pins {
            let identity = try #require(pin["identity"] as? String)
            let state = try #require(pin["state"] as? [String: Any])
            let found = component("swift:\(identity)")
            #expect(found?["version"] as? String == state["version"] as? String, "\(identity)")
            let properties = found?["properties"] as? [[String: String]] ?? []
            #expect(properties.contains { $0["name"] == "swift:revision" && $0["value"] == state["revision"] as? String }, "\(identity)")
            #expect(licence(found) != nil, "\(identity) has no licence")
        }
        // Licences read from the checkouts' own files.
        func expression(_ component: [String: Any]?) -> String? {
            (component?["licenses"] as? [[String: Any]])?.first?["expression"] as? String
        }
        // Its LICENSE.txt holds the Swift runtime library exception.
        #expect(expression(component("swift:swift-argument-parser")) == "Apache-2.0 WITH Swift-exception")
        #expect(licence(component("swift:grdb.swift")) == "MIT")
        #expect(component("swift:swift-property-based")?["scope"] as? String == "excluded", "test-only")

        // The system libraries at the versions dpkg reports.
        for (ref, package) in [("deb:libusb-1.0-0", "libusb-1.0-0"), ("deb:libudev1", "libudev1"), ("deb:libsqlite3-0", "libsqlite3-0")] {
            let dpkg = try await ChildProcess.run("/usr/bin/dpkg-query", ["-W", "-f=${Version}", package])
            try #require(dpkg.status == 0, "\(package) is not installed: \(dpkg.stderr)")
            #expect(component(ref)?["version"] as? String == dpkg.stdout, "\(package)")
        }

        // The graph: the root uses the libraries; swift-crypto uses swift-asn1.
        let dependencies = try #require(sbom["dependencies"] as? [[String: Any]])
        func uses(_ ref: String) -> [String] { dependencies.first { $0["ref"] as? String == ref }?["dependsOn"] as? [String] ?? [] }
        #expect(Set(uses("pumpwand")).isSuperset(of: ["swift:grdb.swift", "swift:swift-crypto", "deb:libusb-1.0-0", "deb:libudev1"]))
        #expect(!uses("pumpwand").contains("swift:swift-asn1"), "a transitive dependency is not a direct one")
        #expect(uses("swift:swift-crypto") == ["swift:swift-asn1"])

        // Reproducible under SOURCE_DATE_EPOCH.
        let (again, second) = try await Self.generate(environment: ["SOURCE_DATE_EPOCH": "1790000000"])
        defer { try? FileManager.default.removeItem(atPath: second) }
        #expect(again.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(contentsOf: URL(fileURLWithPath: second)))
    }

    @Test func theValidatorRejectsAnSBOMMissingANameOrWithAnUnknownLicence() async throws {
        let (run, file) = try await Self.generate()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #require(run.status == 0, "\(run.stderr)")
        var sbom = try Self.object(file)
        var components = try #require(sbom["components"] as? [[String: Any]])
        components[0].removeValue(forKey: "name")
        components[1]["licenses"] = [["license": ["id": "Not-A-Licence"]]]
        sbom["components"] = components
        try JSONSerialization.data(withJSONObject: sbom).write(to: URL(fileURLWithPath: file))
        let problems = try await Self.violations(of: file)
        #expect(problems.contains { $0.hasPrefix("$.components[0]") && $0.contains("'name' is a required property") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("$.components[1].licenses") }, "\(problems)")
    }

    @Test func anUnrecognisedLicenceIsAnErrorNotAGuess() async throws {
        // A package root with one pinned dependency whose licence text is unknown.
        let fakeFolder = try TemporaryDirectory(prefix: "pumpwand-sbom-root")
        defer { fakeFolder.remove() }
        let fake = fakeFolder.path
        let manager = FileManager.default
        try manager.createDirectory(atPath: fake + "/Sources/PumpProgrammer/Report", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: fake + "/.build/checkouts/odd-package", withIntermediateDirectories: true)
        try #"static let version = "9.9.9""#.write(toFile: fake + "/Sources/PumpProgrammer/Report/SoftwareVersion.swift", atomically: true, encoding: .utf8)
        try "You may do what the author says today.".write(toFile: fake + "/.build/checkouts/odd-package/LICENSE", atomically: true, encoding: .utf8)
        let pin: [String: Any] = ["identity": "odd-package", "kind": "remoteSourceControl",
                                  "location": "https://example.org/odd/odd-package.git",
                                  "state": ["revision": String(repeating: "a", count: 40), "version": "1.0.0"]]
        try JSONSerialization.data(withJSONObject: ["pins": [pin], "version": 3]).write(to: URL(fileURLWithPath: fake + "/Package.resolved"))
        let (run, file) = try await Self.generate(root: fake)
        #expect(run.status == 1)
        #expect(run.stderr.contains("odd-package/LICENSE: licence text not recognised"), "\(run.stderr)")
        #expect(!manager.fileExists(atPath: file), "no SBOM is written when one licence is unknown")
    }

    @Test func theLibrariesTheBinariesLinkAreInTheSBOMWithTheirPackagesVersions() async throws {
        let (run, file) = try await Self.generate()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #require(run.status == 0, "\(run.stderr)")
        let components = try #require(try Self.object(file)["components"] as? [[String: Any]])
        func component(_ ref: String) -> [String: Any]? { components.first { $0["bom-ref"] as? String == ref } }
        // libc and libcurl (the FHIR poster's FoundationNetworking) are linked, though no manifest names them.
        for package in ["libc6", "libcurl4"] {
            let dpkg = try await ChildProcess.run("/usr/bin/dpkg-query", ["-W", "-f=${Version}", package])
            try #require(dpkg.status == 0, "\(package): \(dpkg.stderr)")
            #expect(component("deb:\(package)")?["version"] as? String == dpkg.stdout, "\(package)")
        }
        let swift = try await ChildProcess.run("/usr/bin/env", ["swift", "--version"], mergingStandardError: true)
        let runtime = try #require(component("swift-runtime"))
        #expect(swift.stdout.contains("Swift version \(runtime["version"] as? String ?? "?") "), "\(swift.stdout)")
        #expect((runtime["licenses"] as? [[String: Any]])?.first?["expression"] as? String == "Apache-2.0 WITH Swift-exception")
        #expect((runtime["description"] as? String)?.contains("libswiftCore.so") == true)
    }

    /// Every licence a file holds, as an SPDX expression.
    @Test func aDualLicenceFileIsAnExpressionNotItsFirstMatch() async throws {
        let program = """
            import importlib.util, sys
            spec = importlib.util.spec_from_file_location("sbom", sys.argv[1])
            sbom = importlib.util.module_from_spec(spec); spec.loader.exec_module(sbom)
            mit = 'Permission is hereby granted, free of charge ... THE SOFTWARE IS PROVIDED "AS IS"'
            apache = "Apache License Version 2.0"
            print(sbom.licence_expression("Licensed under either of, at your option:\\n" + apache + "\\n" + mit, "x"))
            print(sbom.licence_expression(apache + "\\n" + mit, "y"))
            print(sbom.licence_expression(apache, "z"))
            """
        let run = try await ChildProcess.run(try PythonTools.systemPython(), ["-c", program, Self.script], mergingStandardError: true)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.split(separator: "\n") == ["Apache-2.0 OR MIT", "Apache-2.0 AND MIT", "Apache-2.0"], "\(run.stdout)")
    }
}
