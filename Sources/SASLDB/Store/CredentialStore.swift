import Dispatch
import Synchronization

/// The credential store: users, their secrets and the operations an administrator runs on them.
///
/// Every change of a user is one atomic batch on the backend: all the user's properties change together.
public struct CredentialStore: Sendable {
    /// Where the records live.
    public let backend: any CredentialBackend
    /// Which secrets ``setPassword(_:for:)`` writes.
    public let policy: SecretPolicy

    /// The longest password accepted, in bytes: what Cyrus's saslpasswd2 reads at most (it truncates longer input
    /// silently; we refuse it).
    public static let maximumPasswordLength = 2048

    /// The property prefix under which ``disable(_:)`` keeps a user's secrets, where no mechanism looks for them.
    public static let disabledPrefix = "disabled:"

    /// Creates a store over `backend` that writes the secrets `policy` asks for.
    public init(backend: any CredentialBackend, policy: SecretPolicy = .cyrusDefault) {
        self.backend = backend
        self.policy = policy
    }

    // MARK: Writing

    /// Sets `password` for `user`, creating the user if needed, replacing every secret atomically.
    ///
    /// - Throws: ``SASLDBError/invalidPassword(_:)``, ``SASLDBError/invalidName(_:)``, and backend errors.
    public func setPassword(_ password: [UInt8], for user: UserID) throws {
        try user.validate()
        try CredentialStore.validate(password: password)
        try policy.validate()
        try backend.apply(WriteBatch(operations(settingPassword: password, for: user)))
    }

    /// The operations that set `password` for `user` under the store's policy.
    func operations(settingPassword password: [UInt8], for user: UserID) throws -> [WriteBatch.Operation] {
        func key(_ property: Property) -> RecordKey { RecordKey(user: user, property: property) }
        var operations: [WriteBatch.Operation] = []
        operations.append(policy.plaintext ? .put(key(.userPassword), password) : .delete(key(.userPassword)))
        operations.append(
            policy.cramMD5 ? .put(key(.cramMD5), CRAMMD5State(password: password).bytes) : .delete(key(.cramMD5))
        )
        if policy.digestMD5 {
            let hash = DigestMD5Secret.hash(authid: user.authid, realm: user.realm, password: password)
            operations.append(.put(key(.digestMD5), hash))
        } else {
            operations.append(.delete(key(.digestMD5)))
        }
        if let scram = policy.scram {
            let verifier = try SCRAMVerifier(
                hash: scram,
                password: password,
                salt: secureRandomBytes(count: 16),
                iterations: policy.scramIterations
            )
            operations.append(.put(key(.authPassword), Array(verifier.description.utf8)))
        } else {
            operations.append(.delete(key(.authPassword)))
        }
        // The SASLv1 secret and our disabled copies belong to an old password.
        operations.append(.delete(key(.plainSecret)))
        for property in CredentialStore.disabledLoginSecrets { operations.append(.delete(key(property))) }
        return operations
    }

    /// Removes every property of `user`; returns whether the user had any.
    @discardableResult
    public func deleteUser(_ user: UserID) throws -> Bool {
        guard try exists(user) || hasOtherProperties(user) else { return false }
        try backend.apply(WriteBatch([.deleteUser(user)]))
        return true
    }

    /// Whether `user` has records besides secrets (a full scan: only for the rare delete of such a user).
    private func hasOtherProperties(_ user: UserID) throws -> Bool {
        do {
            let prefix = user.authid + [0] + user.realm + [0]
            var found = false
            try backend.recordKeys().forEachKey { key in
                if !found, key.count > prefix.count, key.starts(with: prefix) { found = true }
            }
            return found
        } catch SASLDBError.fileNotFound {
            return false
        }
    }

    /// Removes the secrets Cyrus's `saslpasswd2 -d` removes (plaintext, the three `cmusaslsecret` values and the
    /// SCRAM verifier), and any disabled copies of them, keeping other properties.
    public func removeSecrets(of user: UserID) throws {
        let properties = Property.secrets + CredentialStore.disabledLoginSecrets
        let operations = properties.map { WriteBatch.Operation.delete(RecordKey(user: user, property: $0)) }
        try backend.apply(WriteBatch(operations))
    }

    /// Makes `user` unable to log in while keeping the secrets, so ``enable(_:)`` can restore them.
    ///
    /// The secrets move to `disabled:<property>`, a name no mechanism (ours or Cyrus's) reads.
    public func disable(_ user: UserID) throws {
        try backend.apply(
            WriteBatch(
                Property.loginSecrets.map { .moveProperty(user, from: $0, to: CredentialStore.disabledProperty($0)) }
            )
        )
    }

    /// Restores the secrets ``disable(_:)`` put aside.
    public func enable(_ user: UserID) throws {
        try backend.apply(
            WriteBatch(
                Property.loginSecrets.map { .moveProperty(user, from: CredentialStore.disabledProperty($0), to: $0) }
            )
        )
    }

    /// Sets the passwords of many users in one atomic batch; SCRAM verifiers are derived on all cores.
    ///
    /// - Parameters:
    ///   - entries: each user with their password.
    ///   - progress: called from any thread with the number of users prepared so far.
    public func importPasswords(
        _ entries: [(user: UserID, password: [UInt8])],
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws {
        try policy.validate()
        for entry in entries {
            try entry.user.validate()
            try CredentialStore.validate(password: entry.password)
        }
        let batches = try deriveInParallel(entries, progress: progress)
        try backend.apply(WriteBatch(batches.flatMap { $0 }))
    }

    private func deriveInParallel(
        _ entries: [(user: UserID, password: [UInt8])],
        progress: (@Sendable (Int) -> Void)?
    ) throws -> [[WriteBatch.Operation]] {
        let chunk = 512
        let chunks = (entries.count + chunk - 1) / chunk
        let results = ResultSlots<[WriteBatch.Operation]>(count: chunks)
        let done = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: chunks) { index in
            let range = (index * chunk)..<min(entries.count, (index + 1) * chunk)
            do {
                var operations: [WriteBatch.Operation] = []
                for entry in entries[range] {
                    operations += try self.operations(settingPassword: entry.password, for: entry.user)
                }
                results.set(index, .success(operations))
                progress?(done.add(range.count, ordering: .relaxed).newValue)
            } catch {
                results.set(index, .failure(error))
            }
        }
        return try results.values()
    }

    /// Writes raw records (a Cyrus dump, an export) in one atomic batch, replacing existing values.
    public func importRecords(_ records: [Record]) throws {
        for record in records { try record.key.user.validate() }
        try backend.apply(WriteBatch(records.map { .put($0.key, $0.value) }))
    }

    // MARK: Reading

    /// Every record, in the backend's order.
    public func records() throws -> [Record] { try backend.records() }

    /// Every user with the names of their properties, sorted by realm then user.
    ///
    /// - Throws: ``SASLDBError/malformedKey(path:keyLength:)`` for a key without the sasldb shape.
    public func users() throws -> [UserEntry] {
        try backend.recordKeys().groupedByUser(path: "database")
    }

    /// Whether `user` has any property that Cyrus would count (its existence check looks up `userPassword`).
    public func exists(_ user: UserID) throws -> Bool {
        let found = try backend.fetch(
            user,
            properties: Property.loginSecrets + CredentialStore.disabledLoginSecrets
        )
        return !found.isEmpty
    }

    /// The secrets of `user`, read in one lookup.
    public func secrets(of user: UserID) throws -> UserSecrets {
        UserSecrets(user: user, values: try backend.fetch(user, properties: UserSecrets.properties))
    }

    /// The secrets of `user` when the backend holds them in memory and can prove them current without reading its
    /// store (``CredentialBackend/fetchFromMemory(_:properties:)``), else `nil`.
    public func secretsInMemory(of user: UserID) -> UserSecrets? {
        backend.fetchFromMemory(user, properties: UserSecrets.properties).map { UserSecrets(user: user, values: $0) }
    }

    /// Whether `password` is right for `user`: the plaintext when stored, else any verifier (constant-time).
    public func verify(password: [UInt8], for user: UserID) throws -> Bool {
        try secrets(of: user).verify(password: password)
    }

    // MARK: Helpers

    /// Refuses passwords no key can hold or Cyrus would store differently.
    public static func validate(password: [UInt8]) throws {
        guard !password.isEmpty else { throw SASLDBError.invalidPassword("the password is empty") }
        guard !password.contains(0) else {
            throw SASLDBError.invalidPassword("the password contains a NUL byte, which Cyrus would cut off")
        }
        guard password.count <= maximumPasswordLength else {
            throw SASLDBError.invalidPassword("the password is longer than \(maximumPasswordLength) bytes")
        }
    }

    /// Where ``disable(_:)`` keeps each login secret, made once: every password set deletes them.
    static let disabledLoginSecrets = Property.loginSecrets.map(disabledProperty)

    /// The property a disabled secret is kept under.
    public static func disabledProperty(_ property: Property) -> Property {
        Property(bytes: Array(disabledPrefix.utf8) + property.bytes)
    }
}

/// A user and the names of the properties stored for them.
public struct UserEntry: Sendable, Equatable {
    /// The user.
    public var user: UserID
    /// The property names, sorted.
    public var properties: [Property]

    /// Whether the secrets are put aside by ``CredentialStore/disable(_:)``.
    public var isDisabled: Bool {
        !properties.contains { Property.loginSecrets.contains($0) }
            && properties.contains { $0.bytes.starts(with: Array(CredentialStore.disabledPrefix.utf8)) }
    }
}
