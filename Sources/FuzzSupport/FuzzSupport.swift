// What the libFuzzer targets share: how a finding is reported, and how a
// normal (non-fuzzing) build replays crash files through a target.
#if canImport(Glibc)
import Glibc
#endif

/// Reports a broken invariant and aborts: the abort is how libFuzzer (and a
/// replay run) learns of the finding. Only the fuzz targets call this; the
/// product never traps on input.
public func fuzzFinding(_ what: String) -> Never {
    let message = Array("fuzz finding: \(what)\n".utf8)
    _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    abort()
}

/// Replays each file in `paths` through a fuzz target's entry point, so a
/// crash file reproduces without the fuzzer toolchain.
public func replayFiles(_ paths: some Sequence<String>, through target: (UnsafePointer<UInt8>, Int) -> CInt) {
    for path in paths {
        guard let file = fopen(path, "rb") else {
            print("cannot open \(path)")
            continue
        }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            contents += buffer[0..<count]
        }
        fclose(file)
        contents.withUnsafeBufferPointer { pointer in
            if let base = pointer.baseAddress { _ = target(base, pointer.count) }
        }
    }
}
