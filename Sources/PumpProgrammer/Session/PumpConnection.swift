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
    private let keyring: PumpKeyring
    private var lastExchange = ContinuousClock.now

    /// The pump forgets a session after 120 s without a request
    /// (PROTOCOL.md); a technician reading a review can take longer. Past
    /// this idle time the session is opened afresh before the next request,
    /// so a request never goes to a pump that would silently drop it.
    static let refreshAfter: Duration = .seconds(90)

    private init(channel: WandChannel, transport: any WandTransport, wandInfo: WandInfo, pumpSerial: String,
                 keyring: PumpKeyring) {
        self.channel = channel
        self.transport = transport
        self.wandInfo = wandInfo
        self.pumpSerial = pumpSerial
        self.keyring = keyring
    }

    /// Says hello to the wand, then opens an authenticated session with the
    /// pump in range.
    public static func open(transport: any WandTransport, keyring: PumpKeyring,
                            policy: RetryPolicy = .standard) async throws(ProgrammerError) -> PumpConnection {
        let channel = WandChannel(link: TransportFrameLink(transport: transport), policy: policy)
        let info: WandInfo
        switch await channel.wand(.info) {
        case .replied(.info(let reply), _):
            info = reply
        case .replied:
            throw .deviceFault("the wand at \(transport.peerDescription) answered its info request with something else")
        case .notSent(let reason):
            throw .communication("the wand at \(transport.peerDescription) could not be reached (\(reason))")
        case .unacknowledged:
            throw .notFound("The wand at \(transport.peerDescription) does not answer. Check it is a PumpWand wand, powered, and that no other program is using it.")
        }
        guard info.supportedVersions.contains(FrameHeader.currentVersion) else {
            throw .deviceFault("the wand (firmware \(info.firmwareMajor).\(info.firmwareMinor).\(info.firmwarePatch)) does not speak protocol version \(FrameHeader.currentVersion)")
        }
        let result = await channel.openSession(candidates: keyring.candidates)
        switch result {
        case .success(let session):
            return PumpConnection(channel: channel, transport: transport, wandInfo: info, pumpSerial: session.pumpSerial,
                                  keyring: keyring)
        case .failure(let error):
            throw sessionFailure(error)
        }
    }

    static func sessionFailure(_ error: SessionOpenError) -> ProgrammerError {
        switch error {
        case .notSent(.wandRefused(.pumpNotInRange)):
            return .notFound("No pump answers: hold the wand over the pump and try again.")
        case .notSent(let reason):
            return .communication("the session request was not sent (\(reason))")
        case .noReply:
            return .notFound("No pump answers: hold the wand over the pump and try again.")
        case .rejected(.unknownPump):
            return .input("No key held here opens the pump in range. Give its key file with --key-file.")
        case .rejected(.serialMismatch(let expected, let found)):
            return .input("The key kept for pump \(expected) opened a pump that calls itself \(found); nothing was sent to it. Check which key belongs to which pump.")
        case .rejected(.refused(let refusal)):
            return .communication("the pump declined the session (\(refusal)); nothing was sent to it. Try again in a moment.")
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

    public func send(_ request: PumpRequest) async -> PumpExchangeResult {
        let limit = Self.refreshLimit(pumpIdleTimeout: await channel.pumpSession?.pumpIdleTimeout)
        if ContinuousClock.now - lastExchange > limit {
            let keyring = self.keyring
            switch await channel.openSession(candidates: keyring.candidates) {
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

    /// Ends the session politely; a lost reply here changes nothing.
    public func close() async {
        _ = await channel.send(.closeSession(CloseSession()))
        await transport.close()
    }
}
