@testable import WandProtocol

/// Shared fixed values for vectors. Each hex constant is written by hand
/// from the layouts in hardware/PROTOCOL.md, with the working beside it.
enum Fixture {
    /// Command id 00 01 02 ... 0F.
    static let commandIdHex = "000102030405060708090A0B0C0D0E0F"
    static let commandId = CommandID(unchecked: hex(commandIdHex))

    /// A hash of 32 bytes of 0xAA, for commit and stage vectors.
    static let hashAAHex = String(repeating: "AA", count: 32)
    static let hashAA = PrescriptionHash(unchecked: hex(hashAAHex))

    /// Continuous baclofen 2 mg/mL at 0.2 mL/day = 400 mcg/day, catheter 0.15 mL.
    ///   drug 01 | conc 2 000 000 = 0x001E8480 -> 80 84 1E 00 | indication 01 | mode 01
    ///   volume 200 000 nL/day = 0x00030D40 -> 40 0D 03 00
    ///   dose 200 000 nL x 2 000 000 ng/mL / 1e6 = 400 000 ng/day = 0x00061A80 -> 80 1A 06 00
    ///   cycle 00 | steps 00 | bolus 00 | catheter 150 000 = 0x000249F0 -> F0 49 02 00
    static let continuousHex = "01 80841E00 01 01 400D0300 801A0600 00 00 00 F0490200"
    static let continuous = WirePrescription(
        drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, indication: .spasticitySpinal, mode: .continuous,
        continuousVolumeRateNanolitresPerDay: 200_000, continuousDoseRateNanogramsPerDay: 400_000,
        catheterVolumeNanolitres: 150_000)
    /// SHA-256 of the 22 bytes above, computed with Python's hashlib.
    static let continuousHashHex = "64f5d4f42a08a1eda88ffd61f1dcf8b1ef7b3b6cbc341810a8592179050356a5"

    /// Daily flex morphine 25 mg/mL with a patient bolus.
    ///   drug 02 | conc 25 000 000 = 0x017D7840 -> 40 78 7D 01 | indication 03 | mode 02
    ///   continuous rates 0 | cycle 01 daily | 2 steps:
    ///     minute 0: 100 000 nL/day (A0 86 01 00), 2 500 000 ng/day (A0 25 26 00)
    ///     minute 480 = 0x01E0: 150 000 nL/day (F0 49 02 00), 3 750 000 ng/day = 0x393870 (70 38 39 00)
    ///   bolus 01: dose 500 000 ng = 0x07A120, volume 20 000 nL = 0x4E20, 600 s = 0x258,
    ///     lockout 3600 s = 0xE10, max 4 per 24 h | catheter 150 000
    static let flexHex = """
        02 40787D01 03 02 00000000 00000000 01 02
        0000 A0860100 A0252600  E001 F0490200 70383900
        01 20A10700 204E0000 58020000 100E0000 04  F0490200
        """
    static let flex = WirePrescription(
        drug: .morphine, concentrationNanogramsPerMillilitre: 25_000_000, indication: .chronicPain, mode: .flex,
        cycle: .daily,
        steps: [
            .init(startMinute: 0, volumeRateNanolitresPerDay: 100_000, doseRateNanogramsPerDay: 2_500_000),
            .init(startMinute: 480, volumeRateNanolitresPerDay: 150_000, doseRateNanogramsPerDay: 3_750_000),
        ],
        patientBolus: .init(doseNanograms: 500_000, volumeNanolitres: 20_000, durationSeconds: 600, lockoutSeconds: 3600, maximumPer24Hours: 4),
        catheterVolumeNanolitres: 150_000)
    /// SHA-256 of the 59 bytes above, computed with Python's hashlib.
    static let flexHashHex = "4ecf44799260f86bc96de9ffeda8e57ad4bb26eaf5e049badf9a1cc54b00affb"

    /// 1 700 000 000 s = 0x6553F100 -> 00 F1 53 65 00 00 00 00.
    static let timeHex = "00F1536500000000"

    static let interrogateReport = InterrogateReport(
        serial: "SP-12345", firmwareMajor: 2, firmwareMinor: 1, firmwarePatch: 0,
        clock: WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 60),
        batteryMillivolts: 3000, batteryState: .ok,
        reservoirVolumeNanolitres: 15_000_000, reservoirCapacityNanolitres: 20_000_000,
        lowReservoirThresholdNanolitres: 2_000_000, reservoirDrug: .baclofen,
        reservoirConcentrationNanogramsPerMillilitre: 2_000_000, infusionState: .infusing,
        prescription: continuous, prescriptionHash: PrescriptionHash(unchecked: hex(continuousHashHex)),
        stagedHash: nil, activeAlarms: [.lowReservoir], lastChangeUTCSeconds: 1_700_000_000,
        recentCommands: [CommandRecordEntry(commandId: commandId, opcode: .commitStagedPrescription, status: 0, utcSeconds: 1_700_000_000)],
        fluidPath: fluidPath)

    /// The line of the example pump: 0.2 mL pathway and 0.15 mL catheter,
    /// full of baclofen 2 mg/mL.
    static let fluidPath = WireFluidPath(
        segments: [.init(volumeNanolitres: 350_000, contents: .drug(.baclofen, concentrationNanogramsPerMillilitre: 2_000_000))],
        pathwayNanolitres: 200_000, catheterNanolitres: 150_000)

    /// 1 segment: 350 000 nL = 0x055730 -> 30 57 05 00, baclofen 01, 2 000 000 ng/mL |
    /// pathway 200 000 = 0x030D40 -> 40 0D 03 00 | catheter 150 000 = 0x0249F0 -> F0 49 02 00 |
    /// no outgoing prescription 00 | no bolus 00
    static let fluidPathHex = "01 30570500 01 80841E00  400D0300 F0490200 00 00"

    /// serial 08 "SP-12345" | fw 02 01 00 | clock, zone +60 = 3C 00 |
    /// 3000 mV = 0x0BB8 -> B8 0B | ok 00 | reservoir 15 000 000 = 0xE4E1C0 -> C0 E1 E4 00 |
    /// capacity 20 000 000 = 0x1312D00 -> 00 2D 31 01 | threshold 2 000 000 -> 80 84 1E 00 |
    /// drug 01 | conc 80 84 1E 00 | infusing 00 | prescription | hash | staged 00 |
    /// 1 alarm: 01 00 | last change | 1 record: id, opcode 05, status 00, time
    static let interrogateHex = """
        08 53502D3132333435  02 01 00  \(timeHex) 3C00  B80B 00
        C0E1E400 002D3101 80841E00 01 80841E00 00
        \(continuousHex) \(continuousHashHex) 00
        01 0100  \(timeHex)
        01 \(commandIdHex) 05 00 \(timeHex)
        \(fluidPathHex) 00
        """
}
