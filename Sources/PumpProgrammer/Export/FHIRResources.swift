import Foundation

/// The parts of HL7 FHIR R5 the visit export writes, as Encodable values
/// (JSONEncoder writes them; no JSON is built as text). Optional fields
/// left nil are omitted, as FHIR wants. Names follow the specification,
/// including R5's spelling `occurenceDateTime`.
public enum FHIR {
    public static let ucum = "http://unitsofmeasure.org"

    public struct Coding: Encodable, Sendable, Equatable {
        public var system: String?
        public var code: String?
        public var display: String?
    }

    public struct CodeableConcept: Encodable, Sendable, Equatable {
        public var coding: [Coding]?
        public var text: String?
        static func text(_ text: String) -> CodeableConcept { CodeableConcept(coding: nil, text: text) }
    }

    public struct Reference: Encodable, Sendable, Equatable {
        public var reference: String?
        public var display: String?
        static func to(_ type: String, _ id: String) -> Reference { Reference(reference: "\(type)/\(id)", display: nil) }
        static func named(_ display: String) -> Reference { Reference(reference: nil, display: display) }
        /// To an entry of the same transaction by its `fullUrl`: the server
        /// points it at the resource the entry created or found (a
        /// conditional create's id is the server's, not the export's).
        static func entry(_ id: String) -> Reference { Reference(reference: "urn:uuid:\(id)", display: nil) }
    }

    public struct CodeableReference: Encodable, Sendable, Equatable {
        public var concept: CodeableConcept?
        public var reference: Reference?
    }

    /// A quantity with its UCUM unit; the value is the exact decimal.
    public struct Quantity: Encodable, Sendable, Equatable {
        public var value: Decimal
        public var unit: String
        public var system: String = FHIR.ucum
        public var code: String
    }

    public struct Identifier: Encodable, Sendable, Equatable {
        public var system: String
        public var value: String
    }

    public struct Meta: Encodable, Sendable, Equatable {
        public var security: [Coding]?
        public var tag: [Coding]?
    }

    public struct HumanName: Encodable, Sendable, Equatable {
        public var text: String
    }

    public struct Annotation: Encodable, Sendable, Equatable {
        public var text: String
    }

    public struct Patient: Encodable, Sendable {
        public let resourceType = "Patient"
        public var id: String
        public var meta: Meta?
        public var identifier: [Identifier]
        public var name: [HumanName]
        public var birthDate: String
    }

    public struct Device: Encodable, Sendable {
        public struct Version: Encodable, Sendable { public var type: CodeableConcept; public var value: String }
        public struct Property: Encodable, Sendable {
            public var type: CodeableConcept
            public var valueCodeableConcept: CodeableConcept
        }
        public let resourceType = "Device"
        public var id: String
        public var meta: Meta?
        public var identifier: [Identifier]
        public var status: String
        public var displayName: String
        public var serialNumber: String
        public var modelNumber: String?
        public var version: [Version]?
        public var property: [Property]?
        public var type: [CodeableConcept]?
    }

    public struct Ratio: Encodable, Sendable {
        public var numerator: Quantity
        public var denominator: Quantity
    }

    public struct Timing: Encodable, Sendable {
        public struct Repeat: Encodable, Sendable {
            public var timeOfDay: [String]?
            public var frequency: Int?
            public var period: Decimal?
            public var periodUnit: String?
        }
        public var repeating: Repeat
        enum CodingKeys: String, CodingKey { case repeating = "repeat" }
    }

    public struct DoseAndRate: Encodable, Sendable {
        public var type: CodeableConcept?
        public var doseQuantity: Quantity?
        public var rateQuantity: Quantity?
    }

    public struct Dosage: Encodable, Sendable {
        public var sequence: Int?
        public var text: String?
        public var timing: Timing?
        public var asNeeded: Bool?
        public var route: CodeableConcept?
        public var doseAndRate: [DoseAndRate]?
        public var maxDosePerPeriod: [Ratio]?
    }

    public struct MedicationRequest: Encodable, Sendable {
        public let resourceType = "MedicationRequest"
        public var id: String
        public var meta: Meta?
        public var identifier: [Identifier]
        public var status: String
        public var intent: String
        public var medication: CodeableReference
        public var subject: Reference
        public var authoredOn: String?
        public var requester: Reference?
        public var device: [CodeableReference]?
        public var dosageInstruction: [Dosage]
        public var note: [Annotation]?
    }

    public struct AdministrationDosage: Encodable, Sendable {
        public var text: String?
        public var route: CodeableConcept?
        public var dose: Quantity?
    }

    public struct MedicationAdministration: Encodable, Sendable {
        public struct Performer: Encodable, Sendable { public var actor: CodeableReference }
        public let resourceType = "MedicationAdministration"
        public var id: String
        public var meta: Meta?
        public var identifier: [Identifier]
        public var status: String
        public var statusReason: [CodeableConcept]?
        public var category: [CodeableConcept]?
        public var medication: CodeableReference
        public var subject: Reference
        public var occurenceDateTime: String
        public var recorded: String?
        public var performer: [Performer]?
        public var request: Reference?
        public var device: [CodeableReference]?
        public var note: [Annotation]?
        public var dosage: AdministrationDosage?
    }

    /// R5 Procedure: a refill is done to the pump, not given to the patient.
    public struct Procedure: Encodable, Sendable {
        public struct Performer: Encodable, Sendable { public var actor: Reference }
        public struct FocalDevice: Encodable, Sendable { public var manipulated: Reference }
        public let resourceType = "Procedure"
        public var id: String
        public var meta: Meta?
        public var identifier: [Identifier]
        public var status: String
        public var statusReason: CodeableConcept?
        public var category: [CodeableConcept]?
        public var code: CodeableConcept
        public var subject: Reference
        public var occurrenceDateTime: String
        public var recorded: String?
        public var performer: [Performer]?
        public var focalDevice: [FocalDevice]?
        public var note: [Annotation]?
    }

    public struct Observation: Encodable, Sendable {
        public struct Component: Encodable, Sendable {
            public var code: CodeableConcept
            public var valueQuantity: Quantity
        }
        public let resourceType = "Observation"
        public var id: String
        public var meta: Meta?
        public var status: String
        public var code: CodeableConcept
        public var subject: Reference
        public var effectiveDateTime: String
        public var device: Reference?
        public var valueQuantity: Quantity?
        public var valueDateTime: String?
        public var valueCodeableConcept: CodeableConcept?
        public var component: [Component]?
    }

    public struct Provenance: Encodable, Sendable {
        public struct Agent: Encodable, Sendable { public var type: CodeableConcept?; public var who: Reference }
        public let resourceType = "Provenance"
        public var id: String
        public var meta: Meta?
        public var target: [Reference]
        public var recorded: String
        public var patient: Reference?
        public var activity: CodeableConcept?
        public var authorization: [CodeableReference]?
        public var agent: [Agent]
    }

    public struct AuditEvent: Encodable, Sendable {
        public struct Outcome: Encodable, Sendable { public var code: Coding; public var detail: [CodeableConcept]? }
        public struct Agent: Encodable, Sendable {
            public var role: [CodeableConcept]?
            public var who: Reference
            public var requestor: Bool?
        }
        public struct Source: Encodable, Sendable { public var observer: Reference }
        public struct Detail: Encodable, Sendable { public var type: CodeableConcept; public var valueString: String }
        public struct Entity: Encodable, Sendable { public var what: Reference?; public var detail: [Detail]? }
        public let resourceType = "AuditEvent"
        public var id: String
        public var meta: Meta?
        public var category: [CodeableConcept]?
        public var code: CodeableConcept
        public var action: String?
        public var occurredDateTime: String?
        public var recorded: String
        public var outcome: Outcome?
        public var patient: Reference?
        public var agent: [Agent]
        public var source: Source
        public var entity: [Entity]?
    }

    /// One resource of a bundle.
    public enum Resource: Encodable, Sendable {
        case patient(Patient), device(Device), medicationRequest(MedicationRequest)
        case medicationAdministration(MedicationAdministration), observation(Observation), provenance(Provenance)
        case auditEvent(AuditEvent), procedure(Procedure)

        public var type: String {
            switch self {
            case .patient: "Patient"
            case .device: "Device"
            case .medicationRequest: "MedicationRequest"
            case .medicationAdministration: "MedicationAdministration"
            case .observation: "Observation"
            case .provenance: "Provenance"
            case .auditEvent: "AuditEvent"
            case .procedure: "Procedure"
            }
        }

        public var id: String {
            switch self {
            case .patient(let r): r.id
            case .device(let r): r.id
            case .medicationRequest(let r): r.id
            case .medicationAdministration(let r): r.id
            case .observation(let r): r.id
            case .provenance(let r): r.id
            case .auditEvent(let r): r.id
            case .procedure(let r): r.id
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .patient(let r): try r.encode(to: encoder)
            case .device(let r): try r.encode(to: encoder)
            case .medicationRequest(let r): try r.encode(to: encoder)
            case .medicationAdministration(let r): try r.encode(to: encoder)
            case .observation(let r): try r.encode(to: encoder)
            case .provenance(let r): try r.encode(to: encoder)
            case .auditEvent(let r): try r.encode(to: encoder)
            case .procedure(let r): try r.encode(to: encoder)
            }
        }
    }

    public struct Bundle: Encodable, Sendable {
        public struct Request: Encodable, Sendable {
            public var method: String
            public var url: String
            /// For a conditional create (`POST`): the search that finds the
            /// resource if the server holds it already, then nothing is created.
            public var ifNoneExist: String?
        }
        public struct Entry: Encodable, Sendable {
            public var fullUrl: String
            public var resource: Resource
            public var request: Request
        }
        public let resourceType = "Bundle"
        public var id: String
        public var meta: Meta?
        public var identifier: Identifier
        public var type: String
        public var timestamp: String
        public var entry: [Entry]
    }
}
