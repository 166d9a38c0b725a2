import Synchronization

/// Lets tasks wait, with a deadline, for state guarded elsewhere to change.
///
/// The guarded state is compared by a generation number: a waiter passes the
/// generation it last saw, so a change that happens between checking the
/// state and starting to wait is never missed.
final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    func signal() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the generation moves past `seen`, at `deadline`, or when
    /// the task is cancelled, whichever is first. Callers re-check their
    /// state, the clock and cancellation afterwards.
    func wait(after seen: UInt64, deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            self?.wake(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != seen { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(id)
        }
    }

    /// Resumes one waiter, if it is still waiting: whoever removes it from
    /// the table resumes it, so it is resumed exactly once.
    private func wake(_ id: UInt64) {
        let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
        continuation?.resume()
    }
}
