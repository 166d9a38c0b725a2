import Foundation
import Synchronization
import Testing

/// How much of the machine a test's child processes take, so that the
/// suites that run them can run in parallel with each other without
/// starving one another (on a 2-core machine four pumpctl/wandsim/harness
/// pipelines at once make each other's timeouts expire).
///
/// Applied to a suite (or a test) it makes every test case wait, suspended
/// and holding no thread, for its share of a process-wide budget before it
/// runs, and give it back after. Tests without the trait (the unit tests)
/// never wait for it.
///
/// - `.childProcesses`: one share; `ChildProcessBudget.shares` of these run at once.
/// - `.hardwareInTheLoopBench`: every share; runs alone among the tests
///   with child processes. Under umockdev libusb spins on an always-ready
///   node and takes a core by itself, and the bench runs wandsim, a Python
///   harness and pumpctl together.
public struct ChildProcessLoad: TestTrait, SuiteTrait, TestScoping {
    let shares: Int

    public var isRecursive: Bool { true }

    /// Each test case waits for its own shares; the suite as a whole takes none.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let granted = await ChildProcessBudget.shared.acquire(shares)
        defer { ChildProcessBudget.shared.release(granted) }
        try await function()
    }
}

extension Trait where Self == ChildProcessLoad {
    /// The test runs child processes: one share of the budget.
    public static var childProcesses: Self { ChildProcessLoad(shares: 1) }
    /// The test runs a hardware-in-the-loop bench: the whole budget.
    public static var hardwareInTheLoopBench: Self { ChildProcessLoad(shares: .max) }
}

/// A counting semaphore for async tests, first come first served (a test
/// that needs every share is not overtaken for ever by one-share tests).
public final class ChildProcessBudget: Sendable {
    /// Shares in the budget: PUMPWAND_TESTS_PROCESS_SHARES, or the number of cores.
    public static let shares: Int = {
        if let text = ProcessInfo.processInfo.environment["PUMPWAND_TESTS_PROCESS_SHARES"], let value = Int(text), value > 0 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    public static let shared = ChildProcessBudget(shares: shares)

    private struct State {
        var free: Int
        var queue: [(shares: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let capacity: Int
    private let state: Mutex<State>

    public init(shares: Int) {
        capacity = shares
        state = Mutex(State(free: shares))
    }

    /// Waits for `wanted` shares (at most the whole budget) and returns how many were granted.
    public func acquire(_ wanted: Int) async -> Int {
        let shares = min(max(1, wanted), capacity)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.queue.isEmpty && state.free >= shares {
                    state.free -= shares
                    return true
                }
                state.queue.append((shares, continuation))
                return false
            }
            if now { continuation.resume() }
        }
        return shares
    }

    /// How many are waiting for shares.
    public var waiting: Int { state.withLock { $0.queue.count } }

    public func release(_ shares: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.free += shares
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = state.queue.first, first.shares <= state.free {
                state.free -= first.shares
                ready.append(first.continuation)
                state.queue.removeFirst()
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}
