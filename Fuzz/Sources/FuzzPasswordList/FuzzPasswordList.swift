// PasswordList.parse (the `user@realm:password` lines of `import`), then the entries imported into a store.
// Invariants: every entry is a valid user with a valid password from one line, no user twice, and after the import
// every entry's password verifies.
import FuzzSupport
import SASLDB

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)
    guard let entries = try? PasswordList.parse(input, defaultRealm: "example.org") else { return 0 }

    let lineCount = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
    require(entries.count <= lineCount, "more entries than lines")
    require(Set(entries.map(\.user)).count == entries.count, "a user was given twice")
    for entry in entries {
        require((try? entry.user.validate()) != nil, "an entry's user is invalid: \(entry.user)")
        require((try? CredentialStore.validate(password: entry.password)) != nil, "an entry's password is invalid")
        require(!entry.password.contains(UInt8(ascii: "\n")), "a password spans lines")
    }

    // Plaintext only: no PBKDF2, so an import costs microseconds.
    let store = CredentialStore(backend: MemoryBackend(), policy: .cyrusDefault)
    do {
        try store.importPasswords(entries)
    } catch {
        require(false, "parsed entries could not be imported: \(error)")
    }
    for entry in entries {
        require((try? store.verify(password: entry.password, for: entry.user)) == true, "an imported password fails")
    }
    return 0
}

@_cdecl("FuzzPasswordList_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
