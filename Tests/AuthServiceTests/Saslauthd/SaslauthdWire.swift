/// Builds saslauthd requests and reads replies as libsasl and `testsaslauthd` do, for the tests.
enum SaslauthdWire {
    /// One counted string: a 16-bit big-endian length, then the bytes.
    static func counted(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
    }

    /// A request of four strings, and the fifth when `clientAddress` is given.
    static func request(
        login: String,
        password: String,
        service: String = "smtp",
        realm: String = "",
        clientAddress: String? = nil
    ) -> [UInt8] {
        var bytes = [login, password, service, realm].flatMap { counted(Array($0.utf8)) }
        if let clientAddress { bytes += counted(Array(clientAddress.utf8)) }
        return bytes
    }

    /// The reply text (`OK`, `NO ...`) of a complete reply, `nil` when the bytes are not one.
    static func replyText(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 2 else { return nil }
        let length = Int(bytes[0]) << 8 | Int(bytes[1])
        guard bytes.count == 2 + length else { return nil }
        return String(decoding: bytes[2...], as: UTF8.self)
    }
}
