// swift-tools-version: 6.1
//
// PumpWand: the driver and command-line programmer for an implanted
// intrathecal drug pump, reached through a USB or serial programmer wand.
//
// The targets are listed in layer order; dependencies point down only:
//   C shims (CLibUSB, CUdev) -> WandLink (transports, discovery)
//   -> WandProtocol (frames, messages, sessions) and Therapy (pure domain)
//   -> PumpSimulator (the pump's side) and PumpProgrammer (workflows)
//   -> the executables pumpctl and wandsim.
import PackageDescription

let package = Package(
    name: "PumpWand",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pumpctl", targets: ["pumpctl"]),
        .executable(name: "wandsim", targets: ["wandsim"]),
        .executable(name: "pumpwand-fhir-post", targets: ["pumpwand-fhir-post"]),
        .library(name: "Therapy", targets: ["Therapy"]),
        .library(name: "WandProtocol", targets: ["WandProtocol"]),
        .library(name: "WandLink", targets: ["WandLink"]),
        .library(name: "PumpSimulator", targets: ["PumpSimulator"]),
        .library(name: "PumpProgrammer", targets: ["PumpProgrammer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        // MARK: C shims
        .systemLibrary(
            name: "CLibUSB",
            pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]
        ),
        .systemLibrary(
            name: "CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),

        // Pseudo-terminal creation (posix_openpt and friends, hidden from Swift).
        .target(name: "CTerminal"),

        // Core dumps off while a key is loaded (prctl is variadic: C only).
        .target(name: "CProcessGuard"),

        // MARK: Transports and discovery
        .target(
            name: "WandLink",
            dependencies: [
                "CLibUSB", "CUdev",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),

        // MARK: Durable files (atomic writes, bounded reads) for state and records
        .target(
            name: "StateFiles",
            dependencies: ["CProcessGuard", .product(name: "SystemPackage", package: "swift-system")]
        ),

        // MARK: Wire protocol
        .target(
            name: "WandProtocol",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),

        // MARK: Therapy domain (pure: standard library and Foundation only)
        .target(name: "Therapy"),

        // MARK: Protocol traces (pcapng) for firmware bring-up
        .target(
            name: "WandTrace",
            dependencies: [
                "WandLink", "WandProtocol",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),

        // MARK: The pump's side, and the host's workflows
        .target(
            name: "PumpSimulator",
            dependencies: ["Therapy", "WandProtocol", "WandLink", "StateFiles"]
        ),
        .target(
            name: "PumpProgrammer",
            dependencies: [
                "Therapy", "WandProtocol", "WandLink", "StateFiles",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // MARK: Executables
        .executableTarget(
            name: "pumpctl",
            dependencies: [
                "Therapy", "WandProtocol", "WandLink", "PumpSimulator", "PumpProgrammer", "StateFiles", "WandTrace", "CTerminal",
                "FHIRPosting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // `export fhir --post`'s HTTP client, a program of its own: only it
        // links FoundationNetworking (and so libcurl), which would otherwise
        // be loaded at the start of every pumpctl command.
        .target(name: "FHIRPosting"),
        .executableTarget(
            name: "pumpwand-fhir-post",
            dependencies: ["FHIRPosting", "CProcessGuard", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .executableTarget(
            name: "wandsim",
            dependencies: [
                "PumpSimulator", "WandLink", "WandProtocol", "Therapy", "StateFiles", "CTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),

        // MARK: Protocol fuzz targets and benchmarks (scripts/fuzz.sh builds
        // the fuzz targets with libFuzzer; a normal build makes them replay
        // files given as arguments)
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzFrameDecoder", dependencies: ["WandProtocol", "FuzzSupport"]),
        .executableTarget(name: "FuzzMessageParser", dependencies: ["WandProtocol", "FuzzSupport"]),
        // The host's handling of a decoded interrogate report, and the
        // prescription and clinic policy file parsers.
        .executableTarget(name: "FuzzPumpStatus", dependencies: ["PumpProgrammer", "WandProtocol", "Therapy", "FuzzSupport"]),
        .executableTarget(name: "FuzzTherapyFiles", dependencies: ["Therapy", "FuzzSupport"]),
        // The benchmark's C baseline: the same framing and sealing in C over
        // OpenSSL's libcrypto, so Swift's cost prints as a ratio to it.
        .target(name: "CBenchBaseline", linkerSettings: [.linkedLibrary("crypto")]),
        .executableTarget(name: "pumpwand-bench", dependencies: ["WandProtocol", "PumpSimulator", "PumpProgrammer", "StateFiles", "CBenchBaseline"]),
        // The start-up floor `pumpwand-bench startup` measures pumpctl
        // against: a Swift program that prints a line, and the smallest
        // swift-argument-parser command tree.
        .executableTarget(name: "startup-floor-print"),
        .executableTarget(name: "startup-floor-parser", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Starts the commands the startup section measures (a child of the
        // benchmark itself would carry the benchmark's RSS into its own).
        .executableTarget(name: "startup-spawner"),
        // Opens a wand through WandSelection in a process of its own, so the
        // tests can run it under umockdev (Tests/Probes/WandSelectionProbe).
        .executableTarget(
            name: "wand-selection-probe",
            dependencies: ["WandLink"],
            path: "Tests/Probes/WandSelectionProbe"
        ),

        // MARK: Tests (one target per library, and one for the command line)
        // What the test targets share: child processes with a time limit,
        // tags, reported skips, and the budget that lets the suites with
        // child processes run in parallel without starving each other.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        .testTarget(
            name: "PumpSimulatorTests",
            dependencies: [
                "PumpSimulator", "Therapy", "WandProtocol", "WandLink", "StateFiles", "wandsim", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "StateFilesTests", dependencies: ["StateFiles", "TestSupport"]),
        .testTarget(name: "WandTraceTests", dependencies: ["WandTrace", "WandLink", "WandProtocol", "TestSupport"]),
        .testTarget(
            name: "PumpProgrammerTests",
            dependencies: [
                "PumpProgrammer", "PumpSimulator", "Therapy", "WandProtocol", "WandLink", "StateFiles", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "TherapyTests", dependencies: ["Therapy", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "WandLinkTests", dependencies: ["WandLink", "CLibUSB", "CUdev", "CTerminal", "TestSupport"]),
        .testTarget(name: "PumpctlTests", dependencies: ["pumpctl", "wandsim", "pumpwand-fhir-post", "FHIRPosting", "wand-selection-probe", "TestSupport"]),
        .testTarget(
            name: "WandProtocolTests",
            dependencies: [
                "WandProtocol",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
