#if canImport(Glibc)
import Glibc
#endif

/// The parts of the keys a ``WireReader`` read last, so a key that repeats them shares their storage instead of
/// allocating its own: the previous key's user, and the last few distinct property names.
struct RecentKeyParts {
    private var authid: [UInt8] = []
    private var realm: [UInt8] = []
    private var properties: [[UInt8]] = []
    /// More property names than any batch of the store's own writes uses.
    private static let propertyCapacity = 16

    /// The key of these parts, reusing what repeats.
    mutating func key(authid: ArraySlice<UInt8>, realm: ArraySlice<UInt8>, property: ArraySlice<UInt8>) -> RecordKey {
        if !Self.same(self.authid, authid) { self.authid = Array(authid) }
        if !Self.same(self.realm, realm) { self.realm = Array(realm) }
        let name: [UInt8]
        if let known = properties.first(where: { Self.same($0, property) }) {
            name = known
        } else {
            name = Array(property)
            if properties.count < Self.propertyCapacity { properties.append(name) }
        }
        return RecordKey(authid: self.authid, realm: self.realm, property: name)
    }

    /// Whether `known` holds the bytes of `part`: memcmp, where the generic comparison walks byte by byte (a quarter
    /// of the helper's instructions in an import).
    private static func same(_ known: [UInt8], _ part: ArraySlice<UInt8>) -> Bool {
        guard known.count == part.count else { return false }
        return known.withUnsafeBytes { left in
            part.withUnsafeBytes { right in
                guard let a = left.baseAddress, let b = right.baseAddress else { return true }
                return memcmp(a, b, left.count) == 0
            }
        }
    }
}
