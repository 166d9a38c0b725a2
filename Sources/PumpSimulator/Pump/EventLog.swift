/// The pump's own record of what happened, kept across power cycles.
/// Bounded: when full, the oldest entries go first, and `dropped` counts them
/// so a reader knows the log has been wrapped.
public struct EventLog: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// Monotonic across the pump's life, so paging never skips or repeats.
        public var index: UInt32
        /// Pump clock, UTC seconds since the Unix epoch.
        public var time: Int64
        public var code: UInt16
        /// A volume in nL, an alarm code or an opcode, by event code.
        public var detail: UInt32
    }

    public let capacity: Int
    public private(set) var entries: [Entry] = []
    public private(set) var nextIndex: UInt32 = 0
    public private(set) var dropped: UInt32 = 0

    public init(capacity: Int = 512) {
        self.capacity = max(1, capacity)
    }

    public mutating func append(time: Int64, code: UInt16, detail: UInt32 = 0) {
        entries.append(Entry(index: nextIndex, time: time, code: code, detail: detail))
        nextIndex &+= 1
        if entries.count > capacity {
            entries.removeFirst(entries.count - capacity)
            dropped &+= 1
        }
    }

    /// Page `number` of `size` entries, newest first (page 0 holds the newest),
    /// and how many pages there are (at least 1, an empty log has one empty page).
    public func page(_ number: Int, size: Int) -> (entries: [Entry], pageCount: Int) {
        let size = max(1, size)
        let pageCount = max(1, (entries.count + size - 1) / size)
        guard number >= 0, number < pageCount else { return ([], pageCount) }
        let newestFirst = entries.reversed()
        return (Array(newestFirst.dropFirst(number * size).prefix(size)), pageCount)
    }
}
