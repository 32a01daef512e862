/// A line from a Dovecot authentication client (Postfix's smtpd, Exim, `doveadm auth test`), parsed.
enum DovecotClientLine: Sendable, Equatable {
    /// `VERSION <major> <minor>`: the protocol the client speaks.
    case version(major: UInt32, minor: UInt32)
    /// `CPID <pid>`: the client's process id, only logged.
    case clientProcessID(String)
    /// `AUTH`: a new request.
    case authenticate(DovecotAuthRequest)
    /// `CONT <id> <base64>`: the client's next response in request `id`, as sent (base64 text).
    case proceed(id: UInt32, response: [UInt8])
    /// A command this server does not know; ignored, as Dovecot's clients ignore what they do not know.
    case unknown

    /// Why a line was not accepted.
    enum Refusal: Error, Sendable, Equatable {
        /// The line is broken beyond naming a request (no id, a bad id, parameters after `resp=`, a broken
        /// escape outside a request): the connection is closed, as Dovecot does.
        case broken(String)
        /// Request `id` is broken (a broken escape in one of its values): it fails, the connection goes on.
        case request(id: UInt32, String)
    }

    /// Parses `line` (without its LF).
    ///
    /// - Throws: ``Refusal`` when the line is broken.
    static func parse(_ line: [UInt8]) throws(Refusal) -> DovecotClientLine {
        let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
        switch String(decoding: fields[0], as: UTF8.self) {
        case "VERSION":
            guard fields.count >= 3, let major = number(fields[1]), let minor = number(fields[2]) else {
                throw .broken("a VERSION line without two numbers")
            }
            return .version(major: major, minor: minor)
        case "CPID":
            guard fields.count >= 2 else { throw .broken("a CPID line without a process id") }
            return .clientProcessID(String(decoding: fields[1].prefix(20), as: UTF8.self))
        case "AUTH":
            return .authenticate(try authenticate(fields.dropFirst()))
        case "CONT":
            guard fields.count >= 3, let id = number(fields[1]) else { throw .broken("a CONT line without an id") }
            guard let response = DovecotTabEscape.unescape(fields[2]) else {
                throw .request(id: id, "a broken escape in the response")
            }
            return .proceed(id: id, response: response)
        default:
            return .unknown
        }
    }

    private static func authenticate(_ fields: ArraySlice<ArraySlice<UInt8>>) throws(Refusal) -> DovecotAuthRequest {
        guard fields.count >= 2, let id = number(fields[fields.startIndex]), id != 0 else {
            throw .broken("an AUTH line without a valid id and mechanism")
        }
        guard let mechanism = DovecotTabEscape.unescape(fields[fields.startIndex + 1]) else {
            throw .request(id: id, "a broken escape in the mechanism name")
        }
        var request = DovecotAuthRequest(
            id: id,
            mechanism: String(decoding: mechanism, as: UTF8.self),
            secured: false
        )
        var index = fields.startIndex + 2
        while index < fields.endIndex {
            let field = fields[index]
            index += 1
            let separator = field.firstIndex(of: UInt8(ascii: "=")) ?? field.endIndex
            let name = String(decoding: field[..<separator], as: UTF8.self)
            let rawValue = separator == field.endIndex ? field[separator...] : field[(separator + 1)...]
            guard let value = DovecotTabEscape.unescape(rawValue) else {
                throw .request(id: id, "a broken escape in \(name)")
            }
            switch name {
            case "service": request.service = String(decoding: value, as: UTF8.self)
            case "secured": request.secured = true
            case "rip": request.remoteAddress = String(decoding: value, as: UTF8.self)
            case "resp":
                // Dovecot's rule: the response is the last parameter, so that nothing can be smuggled behind it.
                guard index == fields.endIndex else { throw .broken("parameters after resp= in request \(id)") }
                request.initialResponse = value
            default:
                break  // Unknown parameters are ignored (lip, nologin, session, ...), as the protocol says.
            }
        }
        return request
    }

    /// A decimal number of at most 10 digits that fits 32 bits.
    private static func number(_ field: ArraySlice<UInt8>) -> UInt32? {
        guard !field.isEmpty, field.count <= 10,
            field.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt32(String(decoding: field, as: UTF8.self))
    }
}
