import WandProtocol
@testable import PumpSimulator

/// The host's side of the real protocol, driven synchronously against a
/// `PumpSimulation`: frames are encoded, fed as bytes to the simulated
/// wand, and its answers decoded, opened and checked as a programmer would.
struct SimulatedHost {
    enum Failure: Error, Equatable {
        case noAnswer
        case unexpectedFrame(FrameKind)
        case session(SessionError)
    }

    var simulation: PumpSimulation
    var now: Int64
    var session: HostSession?
    private var sequence: UInt16 = 0
    private var decoder = FrameDecoder()

    init(simulation: PumpSimulation, now: Int64) {
        self.simulation = simulation
        self.now = now
    }

    /// Sends one frame body and returns the frames that came back.
    mutating func exchange(_ body: [UInt8]) -> [Frame] {
        simulation.catchUp(hostNow: now)
        guard let bytes = try? FrameEncoder.encode(body) else { return [] }
        let outgoing = simulation.receive(fromHost: bytes)
        return outgoing.flatMap { decoder.feed($0.bytes) }.compactMap { try? Frame(body: $0) }
    }

    mutating func nextSequence() -> UInt16 {
        sequence &+= 1
        return sequence
    }

    /// Opens a session with the demo key.
    mutating func open() throws {
        let handshake = SessionHandshake()
        let body = FrameHeader(kind: .pumpMessage, sequence: nextSequence()).encoded + handshake.request.encoded
        guard let frame = exchange(body).first else { throw Failure.noAnswer }
        do {
            session = try handshake.complete(replyPayload: frame.payload, candidates: PumpKey(bytes: PumpIdentity.demoKey).map { [PumpKeyCandidate(serial: nil, key: $0)] } ?? [])
        } catch {
            throw Failure.session(error)
        }
    }

    /// Seals a request; returns the frame body and its counter, so a test
    /// can send (or resend) exactly those bytes.
    mutating func seal(_ request: PumpRequest) throws -> (body: [UInt8], counter: UInt64) {
        guard var current = session else { throw Failure.noAnswer }
        do {
            let sealed = try current.seal(request, sequence: nextSequence())
            session = current
            return (sealed.frameBody, sealed.counter)
        } catch {
            throw Failure.session(error)
        }
    }

    /// Sends a sealed body and opens the reply; nil when nothing came back.
    mutating func send(sealed body: [UInt8], counter: UInt64) throws -> PumpReply? {
        let frames = exchange(body)
        guard let frame = frames.first else { return nil }
        guard frame.header.kind == .pumpMessage else { throw Failure.unexpectedFrame(frame.header.kind) }
        guard var current = session else { throw Failure.noAnswer }
        do {
            let reply = try current.open(frame, answering: counter)
            session = current
            return reply
        } catch {
            throw Failure.session(error)
        }
    }

    /// Seals, sends and opens; throws when no reply came back.
    mutating func request(_ request: PumpRequest) throws -> PumpReply {
        let (body, counter) = try seal(request)
        guard let reply = try send(sealed: body, counter: counter) else { throw Failure.noAnswer }
        return reply
    }

    mutating func interrogate() throws -> InterrogateReport {
        guard case let .interrogate(report) = try request(.interrogate(InterrogateRequest())) else { throw Failure.noAnswer }
        return report
    }

    /// Moves both the host's clock and the simulated world forward. The
    /// pump forgets an idle session after two minutes, so a host that
    /// waited longer opens a new one, as a programmer would.
    mutating func wait(seconds: Int64) throws {
        now += seconds
        simulation.catchUp(hostNow: now)
        if seconds > 60 { try open() }
    }
}

/// Prescriptions the tests send, with dose figures consistent with the
/// volume and concentration: dose (ng) = volume (nL) x ng/mL / 10^6.
enum Prescriptions {
    static func continuous(rate: UInt32, concentration: UInt32 = 2_000_000, drug: WireDrug = .baclofen,
                           patientBolus: WirePrescription.PatientBolus? = nil) -> WirePrescription {
        WirePrescription(
            drug: drug, concentrationNanogramsPerMillilitre: concentration, indication: .spasticitySpinal, mode: .continuous,
            continuousVolumeRateNanolitresPerDay: rate,
            continuousDoseRateNanogramsPerDay: UInt32(UInt64(rate) * UInt64(concentration) / 1_000_000),
            patientBolus: patientBolus, catheterVolumeNanolitres: 260_000)
    }

    static func flex(steps: [(minute: UInt16, rate: UInt32)], concentration: UInt32 = 2_000_000,
                     patientBolus: WirePrescription.PatientBolus? = nil) -> WirePrescription {
        WirePrescription(
            drug: .baclofen, concentrationNanogramsPerMillilitre: concentration, indication: .spasticitySpinal, mode: .flex,
            cycle: .daily,
            steps: steps.map {
                .init(startMinute: $0.minute, volumeRateNanolitresPerDay: $0.rate,
                      doseRateNanogramsPerDay: UInt32(UInt64($0.rate) * UInt64(concentration) / 1_000_000))
            },
            patientBolus: patientBolus, catheterVolumeNanolitres: 260_000)
    }

    static func patientBolus(volume: UInt32, concentration: UInt32 = 2_000_000, duration: UInt32, lockout: UInt32,
                             perDay: UInt8) -> WirePrescription.PatientBolus {
        .init(doseNanograms: UInt32(UInt64(volume) * UInt64(concentration) / 1_000_000), volumeNanolitres: volume,
              durationSeconds: duration, lockoutSeconds: lockout, maximumPer24Hours: perDay)
    }
}

func commandID(_ n: UInt8) -> CommandID {
    CommandID(bytes: [UInt8](repeating: n, count: 16)) ?? CommandID.random()
}
