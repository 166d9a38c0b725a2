/// A streaming frame decoder: accepts bytes in any chunking (one at a time or
/// split anywhere), yields each frame body whose COBS and CRC are valid, and
/// counts what it dropped.
///
/// Memory is bounded: it holds at most one maximum-size encoded frame. A run
/// of bytes longer than that is discarded up to the next delimiter and
/// counted as oversized. The buffer is reserved once, so pushing bytes never
/// allocates; only a completed frame's body is copied out.
public struct FrameDecoder: Sendable {
    /// Counts of what the decoder has seen since it was made.
    public struct Statistics: Sendable, Equatable {
        /// Frames that passed COBS and CRC checks and were delivered.
        public var framesDelivered = 0
        /// Frames whose CRC did not match (corrupted in transit).
        public var checksumFailures = 0
        /// Frames that were not valid COBS or too short to hold a CRC and a
        /// body (truncated, or line noise between delimiters).
        public var malformedFrames = 0
        /// Runs longer than the frame limit, discarded up to the next delimiter.
        public var oversizedFrames = 0

        /// All frames dropped for any reason.
        public var droppedFrames: Int { checksumFailures + malformedFrames + oversizedFrames }

        /// No frames yet.
        public init() {}
    }

    /// What the decoder has delivered and dropped so far.
    public private(set) var statistics = Statistics()

    private let maximumBodyLength: Int
    private let capacity: Int
    private var buffer: [UInt8]
    private var discarding = false

    /// A decoder that accepts bodies up to `maximumBodyLength` bytes.
    public init(maximumBodyLength: Int = FrameFormat.maximumBodyLength) {
        self.maximumBodyLength = max(1, maximumBodyLength)
        self.capacity = FrameFormat.maximumEncodedLength(bodyLength: self.maximumBodyLength)
        self.buffer = []
        self.buffer.reserveCapacity(capacity)
    }

    /// Feeds one byte; returns a frame body when this byte completes a valid frame.
    public mutating func push(_ byte: UInt8) -> [UInt8]? {
        if byte != FrameFormat.delimiter {
            if discarding { return nil }
            if buffer.count >= capacity {
                discarding = true
                buffer.removeAll(keepingCapacity: true)
                return nil
            }
            buffer.append(byte)
            return nil
        }
        if discarding {
            discarding = false
            statistics.oversizedFrames += 1
            return nil
        }
        // Back-to-back delimiters (the trailing one of a frame and the
        // leading one of the next) are idle fill, not frames.
        guard !buffer.isEmpty else { return nil }
        defer { buffer.removeAll(keepingCapacity: true) }
        return completeFrame()
    }

    /// Feeds a chunk of bytes; returns the frame bodies it completed, in order.
    ///
    /// Contiguous input (an array, a slice, a buffer: everything the
    /// transports deliver) takes the buffer path below. Only a sequence with
    /// no contiguous storage is fed byte by byte.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        if let frames = bytes.withContiguousStorageIfAvailable({ feed(buffer: $0) }) { return frames }
        var frames: [[UInt8]] = []
        for byte in bytes {
            if let frame = push(byte) { frames.append(frame) }
        }
        return frames
    }

    /// Feeds an array of bytes. A concrete overload, so callers in other
    /// modules reach the compiled buffer path instead of an unspecialised
    /// generic loop.
    public mutating func feed(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.withUnsafeBufferPointer { feed(buffer: $0) }
    }

    /// Feeds a buffer: each run between delimiters is appended to the frame
    /// buffer in one copy rather than byte by byte. The result is the same
    /// as pushing every byte (the decoder tests feed both ways).
    public mutating func feed(buffer input: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        feed(buffer: input, appendingTo: &frames)
        return frames
    }

    /// Feeds a buffer and appends the frame bodies it completes to `frames`:
    /// a receive loop that keeps one array (and its capacity) across reads
    /// allocates only the bodies themselves.
    public mutating func feed(buffer input: UnsafeBufferPointer<UInt8>, appendingTo frames: inout [[UInt8]]) {
        var start = 0
        let end = input.count
        while start < end {
            // The run of non-delimiter bytes starting here.
            var stop = start
            while stop < end && input[stop] != FrameFormat.delimiter { stop += 1 }
            if stop > start { appendRun(UnsafeBufferPointer(rebasing: input[start..<stop])) }
            guard stop < end else { break }
            if let frame = push(FrameFormat.delimiter) { frames.append(frame) }
            start = stop + 1
        }
    }

    /// Appends a run with no delimiter in it, as `push` would byte by byte:
    /// a run that would take the buffer past one maximum-size frame turns
    /// the decoder to discarding until the next delimiter.
    private mutating func appendRun(_ run: UnsafeBufferPointer<UInt8>) {
        if discarding { return }
        if buffer.count + run.count > capacity {
            discarding = true
            buffer.removeAll(keepingCapacity: true)
            return
        }
        buffer.append(contentsOf: run)
    }

    /// Forgets a partial frame (for example after the link was reset).
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        discarding = false
    }

    private mutating func completeFrame() -> [UInt8]? {
        let encodedCount = buffer.count
        let checksumLength = FrameFormat.checksumLength
        let limit = maximumBodyLength
        enum Verdict { case malformed, badChecksum, body(Int) }
        let verdict: Verdict = buffer.withUnsafeMutableBufferPointer { raw in
            guard let length = COBS.decodeInPlace(raw, count: encodedCount),
                  length > checksumLength, length - checksumLength <= limit
            else { return .malformed }
            let bodyLength = length - checksumLength
            let received = UInt32(raw[bodyLength])
                | UInt32(raw[bodyLength + 1]) << 8
                | UInt32(raw[bodyLength + 2]) << 16
                | UInt32(raw[bodyLength + 3]) << 24
            let computed = CRC32C.checksum(UnsafeBufferPointer(rebasing: raw[0..<bodyLength]))
            return received == computed ? .body(bodyLength) : .badChecksum
        }
        switch verdict {
        case .malformed:
            statistics.malformedFrames += 1
            return nil
        case .badChecksum:
            statistics.checksumFailures += 1
            return nil
        case .body(let length):
            statistics.framesDelivered += 1
            return Array(buffer[0..<length])
        }
    }
}
