import Foundation
import Synchronization
import Testing

/// How much of the machine a test's child processes take, so that the
/// suites that run them can run in parallel with each other without
/// starving one another.
///
/// Applied to a suite (or a test) it makes every test case wait, suspended
/// and holding no thread, for its share of a process-wide budget before it
/// runs, and give it back after. Tests without the trait (the unit tests)
/// never wait for it. Swift Testing itself starts every suite at once, and
/// `.serialized` orders the tests of one suite only; this is what keeps the
/// number of child-process tests running together bounded.
///
/// - `.childProcesses`: one share of `ChildProcessBudget.processes`.
/// - `.hardwareInTheLoopBench`: the bench lane (one bench at a time) and
///   two shares. A bench runs wandsim, a Python harness and pumpctl
///   together, and under umockdev libusb spins on an always-ready node and
///   takes a core by itself: two benches at once on a 2-core machine would
///   starve each other, one bench beside lighter tests does not.
public struct ChildProcessLoad: TestTrait, SuiteTrait, TestScoping {
    let shares: Int
    let bench: Bool

    public var isRecursive: Bool { true }

    /// Each test case waits for its own shares; the suite as a whole takes none.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        guard ChildProcessBudget.isEnabled else { return try await function() }
        // Always the bench lane first, then shares: no two tests wait on each other in a circle.
        let lane = bench ? await ChildProcessBudget.benches.acquire(1) : 0
        defer { if lane > 0 { ChildProcessBudget.benches.release(lane) } }
        // A bench's shares come before other waiters': the one bench lane
        // is the longest chain of tests, and it should not queue behind them.
        let granted = await ChildProcessBudget.processes.acquire(shares, first: bench)
        defer { ChildProcessBudget.processes.release(granted) }
        try await function()
    }
}

extension Trait where Self == ChildProcessLoad {
    /// The test runs child processes: one share of the budget.
    public static var childProcesses: Self { ChildProcessLoad(shares: 1, bench: false) }
    /// The test runs a hardware-in-the-loop bench: the bench lane and two shares.
    public static var hardwareInTheLoopBench: Self { ChildProcessLoad(shares: 2, bench: true) }
}

/// A counting semaphore for async tests, first come first served (a test
/// that needs several shares is not overtaken for ever by one-share tests).
public final class ChildProcessBudget: Sendable {
    /// Shares for tests with child processes: PUMPWAND_TESTS_PROCESS_SHARES,
    /// or twice the number of cores (they spend most of their time waiting
    /// on each other's pipes and ptys, not computing).
    public static let processShares: Int = {
        if let text = ProcessInfo.processInfo.environment["PUMPWAND_TESTS_PROCESS_SHARES"], let value = Int(text), value >= 0 {
            return value
        }
        return 2 * max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// PUMPWAND_TESTS_PROCESS_SHARES=0 turns the budget off, for measuring:
    /// every test then starts as soon as Swift Testing starts it.
    public static var isEnabled: Bool { processShares > 0 }

    public static let processes = ChildProcessBudget(shares: max(1, processShares))
    public static let benches = ChildProcessBudget(shares: 1)

    private struct State {
        var free: Int
        var queue: [(shares: Int, first: Bool, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let capacity: Int
    private let state: Mutex<State>

    public init(shares: Int) {
        capacity = shares
        state = Mutex(State(free: shares))
    }

    /// Waits for `wanted` shares (at most the whole budget) and returns how
    /// many were granted. With `first`, the wait goes ahead of the others
    /// (behind earlier `first` waiters).
    public func acquire(_ wanted: Int, first: Bool = false) async -> Int {
        let shares = min(max(1, wanted), capacity)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.queue.isEmpty && state.free >= shares {
                    state.free -= shares
                    return true
                }
                let position = first ? (state.queue.firstIndex { !$0.first } ?? state.queue.count) : state.queue.count
                state.queue.insert((shares, first, continuation), at: position)
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
