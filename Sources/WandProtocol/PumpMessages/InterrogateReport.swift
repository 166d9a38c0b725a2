/// The pump's battery state.
public enum BatteryState: UInt8, Sendable, CaseIterable {
    case ok = 0
    /// Elective replacement indicator: plan the replacement.
    case electiveReplacement = 1
    /// End of service: the pump stops delivery changes.
    case endOfService = 2
}

/// What the pump is doing.
public enum InfusionState: UInt8, Sendable, CaseIterable {
    case infusing = 0
    case stopped = 1
    case bolusInProgress = 2
    case refillInProgress = 3
}

/// One entry of the pump's record of recent command ids.
/// ```
/// 0   16  command id (never all zero)
/// 16  1   opcode of the command
/// 17  1   status it ended with (0 done, else PumpRefusal)
/// 18  8   UTC seconds when it ended (Int64, 0 ... 253 402 300 799)
/// ```
public struct CommandRecordEntry: Sendable, Equatable, Hashable, WireFields, CommandAnswer {
    public var commandId: CommandID
    public var opcode: PumpOpcode
    public var status: UInt8
    public var utcSeconds: Int64

    public init(commandId: CommandID, opcode: PumpOpcode, status: UInt8, utcSeconds: Int64) {
        self.commandId = commandId
        self.opcode = opcode
        self.status = status
        self.utcSeconds = utcSeconds
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        opcode = try readEnum(PumpOpcode.self, &reader, "record.opcode")
        status = try reader.uint8("record.status")
        guard status == 0 || PumpRefusal(rawValue: status) != nil else {
            throw .invalidValue(field: "record.status", value: Int64(status))
        }
        utcSeconds = try readUTCSeconds(&reader, "record.utcSeconds")
    }

    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        writer.uint8(opcode.rawValue)
        writer.uint8(status)
        writer.int64(utcSeconds)
    }
}

/// The pump's identity and status: the reply body to interrogate.
/// ```
/// offset  size  field
/// 0       1+n   pump serial: length n (1 ... 32), printable ASCII
/// +0      3     firmware major, minor, patch
/// +3      10    pump clock: UTC seconds Int64, zone offset minutes Int16
/// +13     2     battery voltage, mV
/// +15     1     battery state (0 ok, 1 elective replacement, 2 end of service)
/// +16     4     reservoir volume, nL
/// +20     4     reservoir capacity, nL
/// +24     4     low-reservoir alarm threshold, nL
/// +28     1     drug in reservoir (1 ... 3)
/// +29     4     concentration in reservoir, ng/mL
/// +33     1     infusion state (0 infusing, 1 stopped, 2 bolus, 3 refill)
/// +34     ...   active prescription (WirePrescription)
/// then    32    its hash (SHA-256 of its canonical encoding)
/// then    1     staged prescription present (0 or 1)
/// then    32    staged hash, if present
/// then    1     active alarm count a (0 ... 16)
/// then    2a    alarm codes, UInt16 each
/// then    8     last therapy change, UTC seconds Int64 (0 ... 253 402 300 799)
/// then    1     command record count r (0 ... 8), newest first
/// then    26r   CommandRecordEntry each
/// then    ...   fluid path (WireFluidPath): what the line holds, tip first
/// then    1     newest event page present (0 or 1): 0 unless the request
///               asked for it; 0 too when the reply would not fit one
///               sealed frame with it (`carrying(newestEvents:)`)
/// then    ...   EventLogPage of page 0, if present (the read event log
///               reply's body)
/// ```
public struct InterrogateReport: Sendable, Equatable, WireFields {
    public static let maximumAlarms = 16
    public static let maximumRecords = 8

    public var serial: String
    public var firmwareMajor: UInt8
    public var firmwareMinor: UInt8
    public var firmwarePatch: UInt8
    public var clock: WireTime
    public var batteryMillivolts: UInt16
    public var batteryState: BatteryState
    public var reservoirVolumeNanolitres: UInt32
    public var reservoirCapacityNanolitres: UInt32
    public var lowReservoirThresholdNanolitres: UInt32
    public var reservoirDrug: WireDrug
    public var reservoirConcentrationNanogramsPerMillilitre: UInt32
    public var infusionState: InfusionState
    public var prescription: WirePrescription
    public var prescriptionHash: PrescriptionHash
    public var stagedHash: PrescriptionHash?
    public var activeAlarms: [PumpAlarm]
    public var lastChangeUTCSeconds: Int64
    public var recentCommands: [CommandRecordEntry]
    public var fluidPath: WireFluidPath
    /// Page 0 of the event log, when the interrogate request asked for it.
    public var newestEvents: EventLogPage?

    public init(
        serial: String, firmwareMajor: UInt8, firmwareMinor: UInt8, firmwarePatch: UInt8, clock: WireTime,
        batteryMillivolts: UInt16, batteryState: BatteryState, reservoirVolumeNanolitres: UInt32,
        reservoirCapacityNanolitres: UInt32, lowReservoirThresholdNanolitres: UInt32, reservoirDrug: WireDrug,
        reservoirConcentrationNanogramsPerMillilitre: UInt32, infusionState: InfusionState,
        prescription: WirePrescription, prescriptionHash: PrescriptionHash, stagedHash: PrescriptionHash?,
        activeAlarms: [PumpAlarm], lastChangeUTCSeconds: Int64, recentCommands: [CommandRecordEntry],
        fluidPath: WireFluidPath, newestEvents: EventLogPage? = nil
    ) {
        self.serial = serial
        self.firmwareMajor = firmwareMajor
        self.firmwareMinor = firmwareMinor
        self.firmwarePatch = firmwarePatch
        self.clock = clock
        self.batteryMillivolts = batteryMillivolts
        self.batteryState = batteryState
        self.reservoirVolumeNanolitres = reservoirVolumeNanolitres
        self.reservoirCapacityNanolitres = reservoirCapacityNanolitres
        self.lowReservoirThresholdNanolitres = lowReservoirThresholdNanolitres
        self.reservoirDrug = reservoirDrug
        self.reservoirConcentrationNanogramsPerMillilitre = reservoirConcentrationNanogramsPerMillilitre
        self.infusionState = infusionState
        self.prescription = prescription
        self.prescriptionHash = prescriptionHash
        self.stagedHash = stagedHash
        self.activeAlarms = activeAlarms
        self.lastChangeUTCSeconds = lastChangeUTCSeconds
        self.recentCommands = recentCommands
        self.fluidPath = fluidPath
        self.newestEvents = newestEvents
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        serial = try readSerial(&reader, field: "interrogate.serial", maximum: 32)
        firmwareMajor = try reader.uint8("interrogate.firmwareMajor")
        firmwareMinor = try reader.uint8("interrogate.firmwareMinor")
        firmwarePatch = try reader.uint8("interrogate.firmwarePatch")
        clock = try WireTime(reading: &reader)
        batteryMillivolts = try reader.uint16("interrogate.batteryMillivolts")
        batteryState = try readEnum(BatteryState.self, &reader, "interrogate.batteryState")
        reservoirVolumeNanolitres = try reader.uint32("interrogate.reservoirVolume")
        reservoirCapacityNanolitres = try reader.uint32("interrogate.reservoirCapacity")
        lowReservoirThresholdNanolitres = try reader.uint32("interrogate.lowReservoirThreshold")
        reservoirDrug = try readEnum(WireDrug.self, &reader, "interrogate.drug")
        reservoirConcentrationNanogramsPerMillilitre = try reader.uint32("interrogate.concentration")
        infusionState = try readEnum(InfusionState.self, &reader, "interrogate.infusionState")
        prescription = try WirePrescription(reading: &reader)
        prescriptionHash = try PrescriptionHash(reading: &reader)
        stagedHash = try reader.flag("interrogate.staged.present") ? try PrescriptionHash(reading: &reader) : nil
        let alarmCount = Int(try reader.uint8("interrogate.alarmCount"))
        guard alarmCount <= Self.maximumAlarms else {
            throw .tooMany(field: "interrogate.alarms", count: alarmCount, maximum: Self.maximumAlarms)
        }
        var alarms: [PumpAlarm] = []
        for _ in 0..<alarmCount { alarms.append(PumpAlarm(rawValue: try reader.uint16("interrogate.alarm"))) }
        activeAlarms = alarms
        lastChangeUTCSeconds = try readUTCSeconds(&reader, "interrogate.lastChange")
        let recordCount = Int(try reader.uint8("interrogate.recordCount"))
        guard recordCount <= Self.maximumRecords else {
            throw .tooMany(field: "interrogate.records", count: recordCount, maximum: Self.maximumRecords)
        }
        var records: [CommandRecordEntry] = []
        for _ in 0..<recordCount { records.append(try CommandRecordEntry(reading: &reader)) }
        recentCommands = records
        fluidPath = try WireFluidPath(reading: &reader)
        if try reader.flag("interrogate.newestEvents.present") {
            let page = try EventLogPage(reading: &reader)
            guard page.page == 0 else { throw .invalidValue(field: "interrogate.newestEvents.page", value: Int64(page.page)) }
            newestEvents = page
        } else {
            newestEvents = nil
        }
    }

    public func write(to writer: inout ByteWriter) {
        writeSerial(serial, &writer)
        writer.uint8(firmwareMajor)
        writer.uint8(firmwareMinor)
        writer.uint8(firmwarePatch)
        clock.write(to: &writer)
        writer.uint16(batteryMillivolts)
        writer.uint8(batteryState.rawValue)
        writer.uint32(reservoirVolumeNanolitres)
        writer.uint32(reservoirCapacityNanolitres)
        writer.uint32(lowReservoirThresholdNanolitres)
        writer.uint8(reservoirDrug.rawValue)
        writer.uint32(reservoirConcentrationNanogramsPerMillilitre)
        writer.uint8(infusionState.rawValue)
        prescription.write(to: &writer)
        prescriptionHash.write(to: &writer)
        if let stagedHash {
            writer.flag(true)
            stagedHash.write(to: &writer)
        } else {
            writer.flag(false)
        }
        writer.uint8(UInt8(truncatingIfNeeded: activeAlarms.count))
        for alarm in activeAlarms { writer.uint16(alarm.rawValue) }
        writer.int64(lastChangeUTCSeconds)
        writer.uint8(UInt8(truncatingIfNeeded: recentCommands.count))
        for record in recentCommands { record.write(to: &writer) }
        fluidPath.write(to: &writer)
        if let newestEvents {
            writer.flag(true)
            newestEvents.write(to: &writer)
        } else {
            writer.flag(false)
        }
    }
}
