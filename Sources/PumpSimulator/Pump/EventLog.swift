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
        /// A short ASCII detail, at most `detailLimit` bytes.
        public var detail: String
    }

    public static let detailLimit = 48
    public let capacity: Int
    public private(set) var entries: [Entry] = []
    public private(set) var nextIndex: UInt32 = 0
    public private(set) var dropped: UInt32 = 0

    public init(capacity: Int = 512) {
        self.capacity = max(1, capacity)
    }

    public mutating func append(time: Int64, code: UInt16, detail: String) {
        let bounded = String(decoding: Array(detail.utf8.prefix(Self.detailLimit)), as: UTF8.self)
        entries.append(Entry(index: nextIndex, time: time, code: code, detail: bounded))
        nextIndex &+= 1
        if entries.count > capacity {
            entries.removeFirst(entries.count - capacity)
            dropped &+= 1
        }
    }

    /// Up to `limit` entries with index >= `from`, and the index to ask for next.
    public func page(from: UInt32, limit: Int) -> (entries: [Entry], next: UInt32) {
        let selected = entries.lazy.filter { $0.index >= from }.prefix(max(0, limit))
        let array = Array(selected)
        return (array, array.last.map { $0.index &+ 1 } ?? max(from, entries.first?.index ?? from))
    }
}
