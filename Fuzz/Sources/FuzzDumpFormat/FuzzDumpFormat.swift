// DumpFormat.decode (db_dump -p text, what `import` and `convert` read), then the records loaded into a store and
// read back as `list` and a login would.
// Invariants: what decodes re-encodes to a dump that decodes to the same records, and encoding is stable.
import FuzzSupport
import SASLDB

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)
    _ = DumpFormat.looksLikeDump(input)
    guard let records = try? DumpFormat.decode(input) else { return 0 }

    let encoded = DumpFormat.encode(records)
    let again: [Record]
    do {
        again = try DumpFormat.decode(encoded)
    } catch {
        require(false, "DumpFormat cannot decode its own encoding: \(error)")
        return 0
    }
    require(again == records, "DumpFormat round trip changed the records")
    require(DumpFormat.encode(again) == encoded, "DumpFormat encoding is not stable")

    // Load the records as `import` does (it refuses keys whose user part is invalid), then read them back.
    let store = CredentialStore(backend: MemoryBackend())
    if (try? store.importRecords(records)) != nil {
        let users = (try? store.users()) ?? []
        for entry in users {
            _ = try? store.secrets(of: entry.user)
        }
        let stored = (try? store.records()) ?? []
        require(Set(stored.map(\.key)) == Set(records.map(\.key)), "the store lost or invented records")
    }
    return 0
}

@_cdecl("FuzzDumpFormat_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
