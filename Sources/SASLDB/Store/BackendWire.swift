/// The messages between a program and a backend helper process (`sasldb` and `sasldb-postgres`): each
/// ``CredentialBackend`` call as one request, its result or error as one response, every field length-prefixed.
///
/// A frame is a 4-byte big-endian length and that many bytes; the first byte of a request names the call.
package enum BackendWire {
    /// The calls.
    package enum Request: Sendable {
        case fetch(UserID, [Property])
        case records
        case recordKeys
        case apply(WriteBatch)
        case initializeSchema
    }

    /// The largest frame accepted: an export of a million users fits, a corrupt length does not allocate gigabytes.
    package static let maximumFrame = 1 << 30

    // MARK: Requests

    /// The bytes of `request`.
    package static func encode(_ request: Request) -> [UInt8] {
        var out = WireWriter()
        switch request {
        case .fetch(let user, let properties):
            out.byte(1)
            out.bytes(user.authid)
            out.bytes(user.realm)
            out.count(properties.count)
            for property in properties { out.bytes(property.bytes) }
        case .records: out.byte(2)
        case .recordKeys: out.byte(3)
        case .apply(let batch):
            out.byte(4)
            out.count(batch.operations.count)
            for operation in batch.operations { out.operation(operation) }
        case .initializeSchema: out.byte(5)
        }
        return out.data
    }

    /// The request in `bytes`.
    ///
    /// - Throws: ``SASLDBError/invalidInput(line:reason:)`` for bytes that are not a request.
    package static func decodeRequest(_ bytes: [UInt8]) throws -> Request {
        var input = WireReader(bytes)
        switch try input.byte() {
        case 1:
            let user = UserID(authid: try input.bytes(), realm: try input.bytes())
            var properties: [Property] = []
            for _ in 0..<(try input.count()) { properties.append(Property(bytes: try input.bytes())) }
            return .fetch(user, properties)
        case 2: return .records
        case 3: return .recordKeys
        case 4:
            var operations: [WriteBatch.Operation] = []
            let count = try input.count()
            operations.reserveCapacity(count)
            for _ in 0..<count { operations.append(try input.operation()) }
            return .apply(WriteBatch(operations))
        case 5: return .initializeSchema
        default: throw WireReader.malformed
        }
    }

    // MARK: Responses

    /// A successful response carrying `payload`.
    package static func success(_ payload: (inout WireWriter) -> Void) -> [UInt8] {
        var out = WireWriter()
        out.byte(0)
        payload(&out)
        return out.data
    }

    /// A failed response carrying `error`.
    package static func failure(_ error: SASLDBError) -> [UInt8] {
        var out = WireWriter()
        out.byte(1)
        out.error(error)
        return out.data
    }

    /// The payload of a successful response, or the error of a failed one, thrown.
    package static func payload(_ bytes: [UInt8]) throws -> WireReader {
        var input = WireReader(bytes)
        guard try input.byte() == 0 else { throw try input.error() }
        return input
    }
}
