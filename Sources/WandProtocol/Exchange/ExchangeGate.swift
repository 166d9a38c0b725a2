import Synchronization

/// Lets one exchange at a time use the channel, in the order they asked.
///
/// `WandChannel` is an actor, but an exchange awaits the link, and every
/// await lets another call into the actor. Without this gate two sends
/// would interleave: both allocate sequences and seal, their frames cross
/// on the wire, and each reply is opened against a session the other has
/// moved. Waiters are resumed first come, first served, by continuation (no
/// polling). A task cancelled while it waits leaves the queue at once and
/// never gets the turn; a task already cancelled when it asks is refused
/// too, so a cancelled caller sends nothing at all.
final class ExchangeGate: Sendable {
    private struct Waiter {
        let ticket: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var busy = false
        var nextTicket: UInt64 = 0
        var waiting: [Waiter] = []
    }

    private let state = Mutex(State())

    /// How many exchanges are queued behind the one running.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Waits for the turn. True: the caller holds it and must `leave()`.
    /// False: the task was cancelled first; the caller does not hold it.
    func enter() async -> Bool {
        let ticket = state.withLock { state -> UInt64 in
            state.nextTicket &+= 1
            return state.nextTicket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // Cancellation is read under the lock: the handler below takes
                // the same lock after the flag is set, so either this sees the
                // flag or the handler finds the waiter. None is ever stranded.
                let granted = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if !state.busy {
                        state.busy = true
                        return true
                    }
                    state.waiting.append(Waiter(ticket: ticket, continuation: continuation))
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let removed = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            removed?.resume(returning: false)
        }
    }

    /// Ends the caller's turn and hands it straight to the next waiter, so no
    /// newcomer can slip in between.
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
