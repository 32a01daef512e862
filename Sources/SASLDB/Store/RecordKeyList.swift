#if canImport(Glibc)
import Glibc
#endif

/// Every record key of a file, packed into one buffer: what a listing needs, read in one short lookup.
///
/// One flat buffer instead of an array per key keeps listing 300,000 records to a few allocations.
public struct RecordKeyList: Sendable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    /// An empty list; a backend appends every raw key (`authid NUL realm NUL property`) in its own order.
    public init() {}

    /// Appends one raw key, as the backend stores it.
    public mutating func append(_ key: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
    }

    /// Appends one raw key, as the backend stores it.
    public mutating func append(_ key: some Collection<UInt8>) {
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
    }

    /// The number of keys.
    public var count: Int { ends.count }

    /// Calls `body` with each raw key, in the file's order; the buffer is valid only during the call.
    public func forEachKey(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { all in
            var start = 0
            for end in ends {
                try body(UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end
            }
        }
    }
}

extension RecordKeyList {
    /// The keys grouped by user, users sorted by realm then name, each user's properties sorted.
    ///
    /// Sorts offsets into the flat buffer with `memcmp` and builds one entry per user: hashing and sorting 300,000
    /// separately allocated keys was several times slower than reading the file.
    ///
    /// - Throws: ``SASLDBError/malformedKey(path:keyLength:)`` for a key without exactly two NUL bytes.
    func groupedByUser(path: String) throws -> [UserEntry] {
        try bytes.withUnsafeBufferPointer { all -> [UserEntry] in
            guard let base = all.baseAddress else { return [] }
            var spans: [KeySpan] = []
            spans.reserveCapacity(ends.count)
            var start = 0
            for end in ends {
                guard let span = KeySpan(base: base, start: start, end: end) else {
                    throw SASLDBError.malformedKey(path: path, keyLength: end - start)
                }
                spans.append(span)
                start = end
            }
            spans.sort { $0.precedes($1, base: base) }
            var entries: [UserEntry] = []
            var index = 0
            while index < spans.count {
                let first = spans[index]
                var properties: [Property] = []
                while index < spans.count, spans[index].sameUser(as: first, base: base) {
                    properties.append(Property(bytes: spans[index].property(base: base)))
                    index += 1
                }
                entries.append(UserEntry(user: first.user(base: base), properties: properties))
            }
            return entries
        }
    }
}

/// Where the three parts of one key lie in the flat buffer.
private struct KeySpan {
    let start: Int
    let firstNUL: Int
    let secondNUL: Int
    let end: Int

    init?(base: UnsafePointer<UInt8>, start: Int, end: Int) {
        var first = -1
        var second = -1
        for offset in start..<end where base[offset] == 0 {
            if first < 0 {
                first = offset
            } else if second < 0 {
                second = offset
            } else {
                return nil
            }
        }
        guard second >= 0 else { return nil }
        self.start = start
        firstNUL = first
        secondNUL = second
        self.end = end
    }

    func user(base: UnsafePointer<UInt8>) -> UserID {
        UserID(
            authid: Array(UnsafeBufferPointer(start: base + start, count: firstNUL - start)),
            realm: Array(UnsafeBufferPointer(start: base + firstNUL + 1, count: secondNUL - firstNUL - 1))
        )
    }

    func property(base: UnsafePointer<UInt8>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + secondNUL + 1, count: end - secondNUL - 1))
    }

    func sameUser(as other: KeySpan, base: UnsafePointer<UInt8>) -> Bool {
        compare(base, start, firstNUL, other.start, other.firstNUL) == 0
            && compare(base, firstNUL + 1, secondNUL, other.firstNUL + 1, other.secondNUL) == 0
    }

    /// Realm, then authid, then property, bytewise: the order `UserID` sorts in.
    func precedes(_ other: KeySpan, base: UnsafePointer<UInt8>) -> Bool {
        let realm = compare(base, firstNUL + 1, secondNUL, other.firstNUL + 1, other.secondNUL)
        if realm != 0 { return realm < 0 }
        let authid = compare(base, start, firstNUL, other.start, other.firstNUL)
        if authid != 0 { return authid < 0 }
        return compare(base, secondNUL + 1, end, other.secondNUL + 1, other.end) < 0
    }
}

/// `memcmp` order of two ranges of the buffer, the shorter first on a common prefix.
private func compare(_ base: UnsafePointer<UInt8>, _ a: Int, _ aEnd: Int, _ b: Int, _ bEnd: Int) -> Int32 {
    let lengthA = aEnd - a
    let lengthB = bEnd - b
    let order = memcmp(base + a, base + b, min(lengthA, lengthB))
    if order != 0 { return order }
    return lengthA == lengthB ? 0 : (lengthA < lengthB ? -1 : 1)
}
