import Dispatch
import Synchronization

/// A transport's own thread for calls that block (poll, read, libusb's
/// synchronous transfers), so they never hold a thread of Swift's
/// cooperative pool. Work on one lane runs one call at a time, in order.
package final class BlockingLane: Sendable {
    private let queue: DispatchQueue

    package init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// Runs `body` on the lane and returns its result. Cancelling the calling
    /// task raises `CancellationFlag.isCancelled` for `body` to notice
    /// between its bounded waits.
    package func run<Value: Sendable, Failure: Error>(
        _ body: @escaping @Sendable (CancellationFlag) -> Result<Value, Failure>
    ) async throws(Failure) -> Value {
        let flag = CancellationFlag()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
                queue.async { continuation.resume(returning: body(flag)) }
            }
        } onCancel: {
            flag.cancel()
        }
        return try result.get()
    }

    /// Returns once every call queued before it has finished.
    package func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { continuation.resume() }
        }
    }
}

/// Set when the task waiting on a blocking call is cancelled.
package final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)
    package var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    func cancel() { cancelled.store(true, ordering: .releasing) }
}
