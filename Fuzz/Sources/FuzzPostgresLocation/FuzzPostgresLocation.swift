// PostgresLocation(url:), what the site file's postgres_url, sasldb_path and `sasldb -f` read.
// Invariants: a URL that parses prints (description) as a URL that parses to the same location, and printing is
// stable; nothing traps on any bytes.
import FuzzSupport
import SASLDB

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    guard let location = try? PostgresLocation(url: text) else { return 0 }
    let printed = location.description
    let again: PostgresLocation
    do {
        again = try PostgresLocation(url: printed)
    } catch {
        require(false, "PostgresLocation cannot read its own URL \(printed): \(error)")
        return 0
    }
    require(again == location, "PostgresLocation round trip changed \(printed)")
    require(again.description == printed, "PostgresLocation printing is not stable")
    return 0
}

@_cdecl("FuzzPostgresLocation_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
