import Foundation
import Synchronization
import Testing
import TestSupport

/// The child-process helper itself, on /bin/sh: output on both streams,
/// input, signals, and the time limit.
@Suite(.serialized, .tags(.process), .childProcesses)
struct ChildProcessTests {
    @Test func statusAndBothStreamsAreReportedApart() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.status == 3)
        #expect(!result.signalled && !result.timedOut)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test func inputIsWrittenThenClosed() async throws {
        let result = try await ChildProcess.run("/bin/cat", input: .text("one\ntwo\n"))
        #expect(result.status == 0)
        #expect(result.stdout == "one\ntwo\n")
    }

    @Test func noInputIsEndOfFileAtOnce() async throws {
        let result = try await ChildProcess.run("/bin/cat", timeLimit: .seconds(10))
        #expect(result.status == 0 && result.stdout.isEmpty)
    }

    /// Far more than a pipe holds (64 KiB), on both streams at once: read
    /// concurrently, neither stream can stall the child.
    @Test func aChattyChildOnBothStreamsNeverStalls() async throws {
        let result = try await ChildProcess.run(
            "/bin/sh", ["-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"], timeLimit: .seconds(30))
        #expect(result.status == 0)
        #expect(result.stdout.utf8.count == 1_000_000)
        #expect(result.stderr.utf8.count == 1_000_000)
    }

    @Test func aSignalledChildSaysSo() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "kill -KILL $$"])
        #expect(result.signalled)
        #expect(result.status == SIGKILL)
    }

    /// A child that ignores its input and exits does not take the test
    /// process down with SIGPIPE.
    @Test func inputTheChildNeverReadsIsHarmless() async throws {
        let result = try await ChildProcess.run("/bin/true", input: .bytes(Data(count: 1_000_000)))
        #expect(result.status == 0)
    }

    @Test func standardErrorCanBeMergedIntoStandardOutput() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "echo a; echo b >&2; echo c"], mergingStandardError: true)
        #expect(result.stdout == "a\nb\nc\n")
        #expect(result.stderr.isEmpty)
    }

    /// The time limit: SIGTERM, then SIGKILL for a child that ignores it;
    /// the failure names the command and carries the output so far.
    @Test func aChildPastItsTimeLimitIsKilledAndReportedWithItsOutputSoFar() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: ChildProcess.TimedOut.self) {
            _ = try await ChildProcess.run(
                "/bin/sh", ["-c", "trap '' TERM; echo before; echo partial >&2; sleep 60"], timeLimit: .milliseconds(300),
                terminationGrace: .milliseconds(300))
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.result.timedOut == true)
        #expect(error?.result.stdout == "before\n")
        #expect(error?.result.stderr == "partial\n")
        #expect(error?.description.contains("TIMED OUT: /bin/sh -c") == true)
        // 0.3 s, 0.3 s more before SIGKILL, and margin: nowhere near the 60 s sleep.
        #expect(elapsed < .seconds(30))
    }

    /// A harness's own children go too: nothing outlives a timed-out run.
    @Test func aTimedOutChildsChildrenAreKilledWithIt() async throws {
        let folder = try TemporaryDirectory(prefix: "pumpwand-child-process")
        defer { folder.remove() }
        let marker = folder.file("grandchild.pid")
        let error = await #expect(throws: ChildProcess.TimedOut.self) {
            _ = try await ChildProcess.run(
                "/bin/sh", ["-c", "sh -c 'echo $$ > \(marker); exec sleep 60' & wait"], timeLimit: .milliseconds(500),
                terminationGrace: .milliseconds(300))
        }
        #expect(error != nil)
        let grandchild = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // Signal 0 probes: ESRCH once it is gone (reaped by init, or a zombie briefly).
        var gone = false
        for _ in 0..<100 where !gone {
            let stat = try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8)
            gone = stat == nil || stat!.contains(") Z ")
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone, "the grandchild \(grandchild) outlived the timed-out run")
    }

    @Test func aStartedChildIsWaitedForLineByLine() async throws {
        // Like wandsim, it takes SIGTERM (children start with it blocked).
        let child = try await ChildProcess.start("/usr/bin/python3", ["-c", """
            import signal, time
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
            print("READY at /dev/pts/9", flush=True)
            time.sleep(60)
            """])
        let line = await child.line(startingWith: "READY at ", within: .seconds(10))
        #expect(line == "READY at /dev/pts/9")
        #expect(child.isRunning)
        let stopped = await child.terminate()
        #expect(stopped.signalled && stopped.status == SIGTERM)
        #expect(!child.isRunning)
    }

    /// Whichever thread starts it, a child gets the signal mask of Swift
    /// concurrency's threads: SIGTERM and SIGINT held back for the
    /// DispatchSource handlers of wandsim and pumpctl, the synchronous
    /// signals and SIGPIPE not.
    @Test func aChildStartsWithTheSignalMaskOfSwiftConcurrencyThreads() async throws {
        let result = try await ChildProcess.run("/bin/grep", ["^SigBlk", "/proc/self/status"])
        let hex = try #require(result.stdout.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        let mask = try #require(UInt64(hex, radix: 16))
        func blocked(_ signal: Int32) -> Bool { mask & (1 << UInt64(signal - 1)) != 0 }
        #expect(blocked(SIGTERM) && blocked(SIGINT) && blocked(SIGHUP))
        #expect(!blocked(SIGSEGV) && !blocked(SIGPIPE) && !blocked(SIGBUS))
    }

    /// A child that never takes the SIGTERM is killed once the grace is over.
    @Test func terminatingAChildThatHoldsSIGTERMBackEndsWithSIGKILL() async throws {
        let child = try await ChildProcess.start("/bin/sleep", ["60"])
        let stopped = await child.terminate(grace: .milliseconds(200))
        #expect(stopped.signalled && stopped.status == SIGKILL)
    }

    /// A child that installs its SIGTERM handler late is waited for, then
    /// stopped through the handler.
    @Test func aChildIsStoppedOnceItCatchesSIGTERM() async throws {
        let child = try await ChildProcess.start("/usr/bin/python3", ["-c", """
            import signal, sys, time
            time.sleep(0.3)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
            time.sleep(60)
            """])
        #expect(await child.waitUntilCatching(SIGTERM, within: .seconds(10)))
        let stopped = await child.terminate()
        #expect(!stopped.signalled && stopped.status == 0)
    }

    /// A flock let go of in `withNoChildStarting` is free for the next
    /// open, however many children are being started meanwhile (each holds
    /// copies of this process's descriptors until it execs). Free within
    /// 200 ms, not at once: a child started just before the section (by this
    /// test, or by another test running in parallel) can still be between
    /// its fork and its exec for a moment under load, holding a copy of the
    /// locked descriptor; what must never happen is a copy kept for good.
    @Test func aFlockReleasedWhileNoChildStartsIsFreeAtOnce() async throws {
        let pathFolder = try TemporaryDirectory(prefix: "pumpwand-child-process-flock")
        defer { pathFolder.remove() }
        let path = pathFolder.file("flock")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let started = Counter()
        let spawning = Task.detached {
            while !Task.isCancelled {
                _ = try? await ChildProcess.run("/bin/true")
                started.add()
            }
        }
        defer { spawning.cancel() }
        var refused = 0, rounds = 0
        let patience = ContinuousClock.now + .seconds(20)
        // Round after round until 200 children have started alongside.
        while started.value < 200 && ContinuousClock.now < patience {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            try #require(fd >= 0)
            var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            let grace = ContinuousClock.now + .milliseconds(200)
            while !locked && ContinuousClock.now < grace {
                try? await Task.sleep(for: .milliseconds(1))
                locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            }
            if !locked { refused += 1 }
            await ChildProcess.withNoChildStarting { _ = close(fd) }
            rounds += 1
            await Task.yield()
        }
        #expect(started.value >= 200)
        #expect(refused == 0, "\(refused) of \(rounds) flocks were refused")
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func aLineThatNeverComesIsNilAtEndOfOutput() async throws {
        let child = try await ChildProcess.start("/bin/sh", ["-c", "echo other"])
        #expect(await child.line(startingWith: "READY", within: .seconds(10)) == nil)
    }

    /// A child's TMPDIR is a private folder of its own that goes with its
    /// RunningChild, also when the child was killed before it could clean
    /// up (as umockdev-run and the Python harnesses, killed at a time
    /// limit, leave their testbed behind).
    @Test func aKilledChildsTemporaryFolderGoesWithIt() async throws {
        var child: RunningChild? = try await ChildProcess.start(
            "/bin/sh", ["-c", "mkdir \"$TMPDIR/umockdev.test\" && echo \"TMPDIR=$TMPDIR\" && exec sleep 60"])
        let line = try #require(await child?.line(startingWith: "TMPDIR="), "\(child?.stderr ?? "")")
        let folder = String(line.dropFirst("TMPDIR=".count))
        #expect(folder.hasPrefix(NSTemporaryDirectory()) && folder != NSTemporaryDirectory())
        #expect(FileManager.default.fileExists(atPath: folder + "/umockdev.test"))
        await child?.kill()
        child = nil
        // The object ends once its reader and exit-watcher threads let go
        // of it too, a moment after the test's reference.
        var left = true
        for _ in 0..<200 where left {
            left = FileManager.default.fileExists(atPath: folder)
            if left { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!left, "the killed child's TMPDIR \(folder) is still there")
    }

    /// A TMPDIR the test gives is passed on as it is (and not removed).
    @Test func aGivenTemporaryDirectoryIsPassedOn() async throws {
        try await withTemporaryDirectory(prefix: "pumpwand-child-given") { given in
            let result = try await ChildProcess.run("/bin/sh", ["-c", "echo \"$TMPDIR\""], environment: ["TMPDIR": given])
            #expect(result.stdout == given + "\n")
            #expect(FileManager.default.fileExists(atPath: given))
        }
    }
}
