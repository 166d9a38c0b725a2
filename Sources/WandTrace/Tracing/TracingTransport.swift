import Synchronization
import SystemPackage
import WandLink
import WandProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `WandTransport` that records every frame passing through it, in both
/// directions, to a pcapng file, and otherwise behaves exactly like the
/// transport it wraps.
///
/// Bytes are split into frames with the protocol's own `FrameDecoder` (one
/// per direction, so a frame split over several reads is recorded once,
/// when complete). Each Enhanced Packet Block holds one frame body: the
/// 5-byte header and the payload, after COBS decoding and with the CRC
/// removed (the CRC was checked; frames that fail it never reach the
/// protocol and are reported in the next record's comment instead).
/// Outbound frames are recorded before they are handed to the transport,
/// so a frame that made the process crash in transit is still on file.
///
/// Sealed pump messages are recorded as they travel (counter, ciphertext,
/// tag): the session keys stay inside WandProtocol's `HostSession`, so the
/// trace never holds plaintext therapy data.
public final class TracingTransport: WandTransport {
    /// The transport whose bytes are recorded.
    public let wrapped: any WandTransport
    public var peerDescription: String { wrapped.peerDescription }

    /// Microseconds since 1970-01-01 UTC.
    public typealias Clock = @Sendable () -> UInt64

    private struct State {
        var writer: PcapngWriter?
        var outbound = FrameDecoder()
        var inbound = FrameDecoder()
        var droppedSeen: [TraceDirection: Int] = [:]
        var failure: TraceError?
        /// Said in the next recorded frame's comment after a failed send.
        var sendFailureNote: String?
    }

    private let state: Mutex<State>
    private let clock: Clock

    /// Wraps `transport`, recording into `writer`.
    public init(wrapping transport: any WandTransport, writer: PcapngWriter,
                clock: @escaping Clock = TracingTransport.wallClock) {
        wrapped = transport
        self.clock = clock
        state = Mutex(State(writer: writer))
    }

    /// Creates the trace file at `path` (replacing a regular file there only
    /// with `overwrite`) and wraps `transport`.
    public static func recording(_ transport: any WandTransport, to path: FilePath, application: String,
                                 overwrite: Bool = false,
                                 clock: @escaping Clock = TracingTransport.wallClock) throws(TraceError) -> TracingTransport {
        let writer = try PcapngWriter(creating: path, application: application, interfaceName: "pumpwand",
                                      interfaceDescription: transport.peerDescription, overwrite: overwrite)
        return TracingTransport(wrapping: transport, writer: writer, clock: clock)
    }

    /// The real-time clock, in microseconds.
    public static let wallClock: Clock = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1_000_000 + UInt64(max(0, now.tv_nsec)) / 1000
    }

    /// The first failure writing the trace, if any. Recording stops at the
    /// first failure; the wrapped transport keeps working.
    public var failure: TraceError? { state.withLock { $0.failure } }

    /// Frames recorded so far.
    public var framesRecorded: Int { state.withLock { $0.writer?.packetsWritten ?? 0 } }

    /// Fails exactly as the wrapped transport does, with its count of the
    /// bytes that left: the tracer adds nothing to a send and takes nothing
    /// from it. Because frames are recorded before the send, a frame cut
    /// short is already on file; the next recorded frame's comment says how
    /// much of that send really left, so the trace never claims the wand
    /// saw bytes it did not.
    public func send(_ bytes: [UInt8]) async throws(WandSendError) {
        record(bytes, .outbound)
        do {
            try await wrapped.send(bytes)
        } catch {
            state.withLock { state in
                state.sendFailureNote = "the previous send failed after \(error.bytesSent) of \(bytes.count) bytes "
                    + "left the host (\(error.failure.headline)); frames recorded from it past that point never reached the wand"
            }
            throw error
        }
    }

    public func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        let bytes = try await wrapped.receive(deadline: deadline)
        record(bytes, .inbound)
        return bytes
    }

    public func close() async {
        await wrapped.close()
        finish()
    }

    deinit { finish() }

    /// Flushes and closes the trace file (also done by `close()`). Idempotent.
    public func finish() {
        state.withLock { state in
            do throws(TraceError) {
                try state.writer?.finish()
            } catch {
                if state.failure == nil { state.failure = error }
            }
            state.writer = nil
        }
    }

    private func record(_ bytes: [UInt8], _ direction: TraceDirection) {
        let now = clock()
        state.withLock { state in
            let frames: [[UInt8]]
            let dropped: FrameDecoder.Statistics
            switch direction {
            case .outbound:
                frames = state.outbound.feed(bytes)
                dropped = state.outbound.statistics
            case .inbound:
                frames = state.inbound.feed(bytes)
                dropped = state.inbound.statistics
            }
            guard state.failure == nil, state.writer != nil, !frames.isEmpty else { return }
            var comment = Self.dropNote(dropped, since: state.droppedSeen[direction] ?? 0)
            state.droppedSeen[direction] = dropped.droppedFrames
            if let note = state.sendFailureNote {
                comment = comment.map { note + "; " + $0 } ?? note
                state.sendFailureNote = nil
            }
            for frame in frames {
                do throws(TraceError) {
                    try state.writer?.record(frame, timestampMicroseconds: now, direction: direction, comment: comment)
                } catch {
                    state.failure = error
                    return
                }
                comment = nil
            }
        }
    }

    /// Says how many runs between delimiters were dropped (bad CRC, not
    /// COBS, too long) since the last recorded frame in this direction; a
    /// firmware engineer looks for these first.
    static func dropNote(_ statistics: FrameDecoder.Statistics, since previous: Int) -> String? {
        let new = statistics.droppedFrames - previous
        guard new > 0 else { return nil }
        return "\(new) run(s) dropped before this frame in this direction "
            + "(totals: checksum \(statistics.checksumFailures), malformed \(statistics.malformedFrames), oversized \(statistics.oversizedFrames))"
    }
}
