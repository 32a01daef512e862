/// The parts of the keys a ``WireReader`` read last, so a key that repeats them shares their storage instead of
/// allocating its own: the previous key's user, and the last few distinct property names.
struct RecentKeyParts {
    private var authid: [UInt8] = []
    private var realm: [UInt8] = []
    private var properties: [[UInt8]] = []
    /// More property names than any batch of the store's own writes uses.
    private static let propertyCapacity = 16

    /// The key of these parts, reusing what repeats.
    mutating func key(
        authid: ArraySlice<UInt8>,
        realm: ArraySlice<UInt8>,
        property: ArraySlice<UInt8>
    ) -> RecordKey {
        if !self.authid.elementsEqual(authid) { self.authid = Array(authid) }
        if !self.realm.elementsEqual(realm) { self.realm = Array(realm) }
        let name: [UInt8]
        if let known = properties.first(where: { $0.elementsEqual(property) }) {
            name = known
        } else {
            name = Array(property)
            if properties.count < Self.propertyCapacity { properties.append(name) }
        }
        return RecordKey(authid: self.authid, realm: self.realm, property: name)
    }
}
