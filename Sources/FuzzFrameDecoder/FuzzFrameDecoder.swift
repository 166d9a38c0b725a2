// libFuzzer target for the streaming frame decoder.
//
// Built for fuzzing by scripts/fuzz.sh (libFuzzer supplies main and calls
// LLVMFuzzerTestOneInput). In a normal build `Replay.main` is the entry
// point instead: it replays the files named on the command line through the
// same function, so a crash file can be reproduced without the fuzzer
// toolchain.
//
// Invariants checked (a violation traps, which is the finding):
// - feeding the input whole, byte by byte and in uneven chunks yields the
//   same frames and the same counters;
// - no delivered frame exceeds the body limit;
// - every delivered frame re-encodes and decodes to itself.
import FuzzSupport
import WandProtocol


@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    var whole = FrameDecoder(maximumBodyLength: 256)
    let wholeFrames = whole.feed(bytes)

    var single = FrameDecoder(maximumBodyLength: 256)
    var singleFrames: [[UInt8]] = []
    for byte in bytes { if let frame = single.push(byte) { singleFrames.append(frame) } }

    var chunked = FrameDecoder(maximumBodyLength: 256)
    var chunkedFrames: [[UInt8]] = []
    var index = 0
    var step = 1
    while index < bytes.count {
        let end = min(bytes.count, index + step)
        chunkedFrames += chunked.feed(bytes[index..<end])
        index = end
        step = step % 7 + 1
    }

    guard wholeFrames == singleFrames, wholeFrames == chunkedFrames,
          whole.statistics == single.statistics, whole.statistics == chunked.statistics
    else { fuzzFinding("chunking changed the decoder's output") }

    for frame in wholeFrames {
        guard frame.count <= 256 else { fuzzFinding("frame over the body limit") }
        guard let wire = try? FrameEncoder.encode(frame) else { fuzzFinding("delivered frame cannot be re-encoded") }
        var again = FrameDecoder(maximumBodyLength: 256)
        guard again.feed(wire) == [frame] else { fuzzFinding("frame does not survive re-encoding") }
        _ = try? Frame(body: frame)
    }
    return 0
}

#if !FUZZING
/// Normal build: replay the files named on the command line through the
/// target (libFuzzer supplies `main` in the fuzzing build instead).
@main
struct Replay {
    static func main() {
        replayFiles(CommandLine.arguments.dropFirst(), through: fuzzFrameDecoder)
    }
}
#endif
