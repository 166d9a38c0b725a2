import Synchronization
import WandLink
import WandProtocol

/// One open line to one pump: the wand checked, the session authenticated.
///
/// Everything sent to the pump goes through `send(_:)`, which returns the
/// exchange layer's three-way result. Whether a lost reply is resolved or
/// reported is the caller's decision (see `Programmer.perform`).
public actor PumpConnection {
    public let channel: WandChannel
    public let transport: any WandTransport
    public let wandInfo: WandInfo
    public let pumpSerial: String
    /// Which of the pump's keys opened the session: after an
    /// unacknowledged re-key this says whether the pump took the new key.
    public let keyRole: PumpKeyring.Role
    /// The key that opened the session, used again when it is refreshed
    /// (the new one once a re-key's receipt is in).
    private var key: PumpKey
    private var lastExchange = ContinuousClock.now
    /// The exchange layer's timing, for a probe's channel (`answersOnlyAnotherSession`).
    private let policy: RetryPolicy
    /// Sessions opened on this connection: 1 after `open`, one more at
    /// every idle refresh. A reading taken under an earlier number came
    /// from a session another programmer may have followed.
    public private(set) var sessionsOpened = 1

    /// The pump forgets a session after 120 s without a request
    /// (PROTOCOL.md); a technician reading a review can take longer. Past
    /// this idle time the session is opened afresh before the next request,
    /// so a request never goes to a pump that would silently drop it.
    static let refreshAfter: Duration = .seconds(90)

    private init(channel: WandChannel, transport: any WandTransport, wandInfo: WandInfo, pumpSerial: String,
                 key: PumpKey, keyRole: PumpKeyring.Role, policy: RetryPolicy) {
        self.policy = policy
        self.channel = channel
        self.transport = transport
        self.wandInfo = wandInfo
        self.pumpSerial = pumpSerial
        self.key = key
        self.keyRole = keyRole
    }

    /// Opens an authenticated session with the pump in range, the wand's
    /// info coming with the opening (PROTOCOL.md, frame flag 0x04): one
    /// exchange where a visit used to start with two. The wand is asked
    /// separately only when its info did not come: a lost answer, or a
    /// failed opening that must say whether the wand or the pump is silent.
    /// `interrupted` is read once an opening got no answer: Ctrl-C while
    /// it was retried ends it as cancelled, not as a pump out of range.
    public static func open(transport: any WandTransport, keyring: PumpKeyring,
                            policy: RetryPolicy = .standard,
                            interrupted: @Sendable () -> Bool = { false }) async throws(ProgrammerError) -> PumpConnection {
        let channel = WandChannel(link: TransportFrameLink(transport: transport), policy: policy)
        // The pump names its key only by a blinded id: every key held is
        // offered, and the one whose id matches opens the session (the
        // pending key of an unacknowledged re-key among them, so the role
        // of the key that matched says whether the pump took the new key).
        let held = keyring.handshakeCandidates
        let result = await channel.openSession(candidates: held.map(\.candidate), askingWandInfo: true)
        // A handshake changes nothing at the pump, so nothing is left to say about it.
        if case .failure(let failure) = result, failure.unanswered, interrupted() { throw .cancelled }
        let info: WandInfo
        if let came = await channel.wandInfoWithSession {
            info = came
        } else {
            info = try await askWand(channel, transport: transport)
        }
        guard info.supportedVersions.contains(FrameHeader.currentVersion) else {
            await channel.dropSession()
            throw .deviceFault("the wand (firmware \(info.firmwareMajor).\(info.firmwareMinor).\(info.firmwarePatch)) does not speak protocol version \(FrameHeader.currentVersion)")
        }
        switch result {
        case .success(let session):
            guard held.indices.contains(session.candidateIndex) else {
                throw .deviceFault("the session opened without a key of the keyring")
            }
            let used = held[session.candidateIndex]
            return PumpConnection(channel: channel, transport: transport, wandInfo: info, pumpSerial: session.pumpSerial,
                                  key: used.candidate.key, keyRole: used.role, policy: policy)
        case .failure(.rejected(.unknownPump)) where !keyring.demoRefused.isEmpty:
            let serials = keyring.demoRefused.sorted().joined(separator: ", ")
            throw .refusedByPolicy("No key held here opens the pump in range. The keys for \(serials) came from a DEMO-signed bundle, whose signer is published, and are not used for a pump that is not simulated: for wandsim or a bench pump give --allow-demo-keys; a patient's pump needs the manufacturer's bundle")
        case .failure(.rejected(.unknownPump)) where keyring.holdsOnlyAKeyFile:
            throw .input("The key file given with --key-file does not open the pump in range: it is not this pump's key. Check which key file belongs to this pump, or leave out --key-file to use the keyring.")
        case .failure(let error):
            throw sessionFailure(error)
        }
    }

    /// The wand's own info exchange, when it did not come with the opening.
    private static func askWand(_ channel: WandChannel, transport: any WandTransport) async throws(ProgrammerError) -> WandInfo {
        switch await channel.wand(.info) {
        case .replied(.info(let reply), _):
            return reply
        case .replied:
            throw .deviceFault("the wand at \(transport.peerDescription) answered its info request with something else")
        case .notSent(let reason):
            throw .communication("the wand at \(transport.peerDescription) could not be reached (\(reason))")
        case .unacknowledged:
            throw .notFound("The wand at \(transport.peerDescription) does not answer. Check it is a PumpWand wand, powered, and that no other program is using it.")
        }
    }

    static func sessionFailure(_ error: SessionOpenError) -> ProgrammerError {
        switch error {
        case .notSent(.wandRefused(.pumpNotInRange)):
            return .notFound("No pump answers: hold the wand over the pump and try again.")
        case .notSent(.wandRefused(.malformedFrame)):
            // With and without the wand-info flag: not a matter of position.
            return .deviceFault("the wand refused the session opening as a malformed frame (NAK 0x01), with and without the wand-info flag, so it relayed nothing to the pump. It does not speak the protocol as PROTOCOL.md section 3 describes: have its firmware checked")
        case .notSent(let reason):
            return .communication("the session request was not sent (\(reason))")
        case .noReply:
            return .notFound("No pump answers: hold the wand over the pump and try again.")
        case .rejected(.unknownPump):
            return .input("No key held here opens the pump in range: import its bundle (pumpctl keys import BUNDLE), or give its key file with --key-file.")
        case .rejected(.serialMismatch(let expected, let found)):
            return .input("The key kept for pump \(expected) opened a pump that calls itself \(found); nothing was sent to it. Check which key belongs to which pump.")
        case .rejected(.refused(.unsupportedVersion)):
            // Unauthenticated: the pump, the wand or anything in radio range
            // may have said it, so it is reported as a claim, never as the
            // pump's state.
            return .deviceFault("an unauthenticated answer to the session request says protocol version \(FrameHeader.currentVersion) is not supported; it may come from the pump, the wand or anything in radio range. No session opened and nothing was sent to the pump. If it persists, have the pump's firmware checked: this programmer speaks only version \(FrameHeader.currentVersion)")
        case .rejected(.refused(.unavailable)):
            return .communication("an unauthenticated answer to the session request says the pump cannot open a session now; it may come from the pump, the wand or anything in radio range. No session opened and nothing was sent to the pump")
        case .rejected(let reason):
            // Twice in a row (the channel retries once): a link that corrupts
            // bytes past the CRC, or something answering in the pump's place.
            return .communication("the pump's session answer failed its checks twice (\(reason)); nothing was sent to it")
        }
    }

    /// When to open afresh: 90 s, or three quarters of the idle timeout the
    /// pump announced in its handshake if that is shorter.
    static func refreshLimit(pumpIdleTimeout: Duration?) -> Duration {
        guard let pumpIdleTimeout else { return refreshAfter }
        return min(refreshAfter, pumpIdleTimeout * 3 / 4)
    }

    /// True when the next request first opens the session afresh.
    public var needsRefresh: Bool {
        get async {
            let limit = Self.refreshLimit(pumpIdleTimeout: await channel.pumpSession?.pumpIdleTimeout)
            return ContinuousClock.now - lastExchange > limit
        }
    }

    public func send(_ request: PumpRequest) async -> PumpExchangeResult {
        if await needsRefresh {
            sessionsOpened += 1
            // Only the key that opened this session (or the new one after a
            // re-key), for this pump: a refresh never moves to another pump.
            let candidate = PumpKeyCandidate(serial: pumpSerial, key: key)
            switch await channel.openSession(candidates: [candidate]) {
            case .success(let session) where session.pumpSerial == pumpSerial:
                break
            case .success:
                // Another pump answered: send nothing to it.
                await channel.dropSession()
                return .notSent(.noSession)
            case .failure(.notSent(let reason)):
                return .notSent(reason)
            case .failure:
                return .notSent(.noSession)
            }
        }
        let result = await channel.send(request)
        if case .unacknowledged = result {} else { lastExchange = .now }
        return result
    }

    /// After a sealed request met silence with no word from the wand:
    /// whether the pump is there and answering, only not to this session.
    /// A pump takes requests from one session at a time, and another
    /// host's opening ends the one it held, whose requests it then drops
    /// without a reply (PROTOCOL.md 6.4, 7.1 rule 4), which reads like a
    /// pump out of range. A fresh handshake under this session's key tells
    /// the two apart and changes nothing at the pump: it stays pending
    /// there, and it is made on a channel of its own that is dropped at
    /// once, so no later request of this run confirms it and takes the
    /// pump back from the other host, and this connection keeps the
    /// session it holds (replies lost on a poor link find it still there).
    func answersOnlyAnotherSession() async -> Bool {
        let probe = WandChannel(link: TransportFrameLink(transport: transport), policy: policy)
        let opened = await probe.openSession(candidates: [PumpKeyCandidate(serial: pumpSerial, key: key)])
        guard case .success(let session) = opened else { return false }
        return session.pumpSerial == pumpSerial
    }

    /// The pump took a new key (a re-key's receipt): a session opened
    /// afresh later in this run (after the idle refresh time) uses it.
    func rekeyed(to bytes: [UInt8]) {
        if let newKey = PumpKey(bytes: bytes) { key = newKey }
    }

    /// Ends the session, carrying `anchor` (the audit head) for the pump to
    /// witness, and leaves without waiting for the reply: nothing the host
    /// does next depends on it, so it costs no exchange. Says whether the
    /// close left this computer; whether the pump kept the anchor is read
    /// with `audit verify --pump`.
    @discardableResult
    public func close(anchor: RecordAuditAnchor? = nil) async -> Bool {
        let sent = await channel.sendWithoutReply(.closeSession(CloseSession(anchor: anchor)))
        await transport.close()
        return sent
    }
}

extension SessionOpenError {
    /// No answer came (not sent, or silence), as against an answer that was refused or failed its checks.
    var unanswered: Bool {
        switch self {
        case .notSent, .noReply: return true
        case .rejected: return false
        }
    }
}
