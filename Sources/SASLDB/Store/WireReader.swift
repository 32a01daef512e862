/// Reads a ``BackendWire`` message, refusing anything short or out of shape.
package struct WireReader {
    private let data: [UInt8]
    private var offset = 0
    /// The parts of keys read so far, reused when a key repeats them: a batch names each user's keys one after
    /// another and the same few properties for every user, so most keys then cost no allocation.
    private var recent = RecentKeyParts()

    /// The error for bytes that are not a message.
    static let malformed = SASLDBError.invalidInput(line: 0, reason: "a malformed message from the backend helper")

    package init(_ data: [UInt8]) { self.data = data }

    package mutating func byte() throws -> UInt8 {
        guard offset < data.count else { throw Self.malformed }
        defer { offset += 1 }
        return data[offset]
    }

    package mutating func count() throws -> Int {
        guard data.count - offset >= 4 else { throw Self.malformed }
        var value = 0
        for byte in data[offset..<(offset + 4)] { value = value << 8 | Int(byte) }
        offset += 4
        return value
    }

    package mutating func bytes() throws -> [UInt8] {
        let length = try count()
        guard data.count - offset >= length else { throw Self.malformed }
        defer { offset += length }
        return Array(data[offset..<(offset + length)])
    }

    package mutating func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }

    package mutating func key() throws -> RecordKey {
        let length = try count()
        guard data.count - offset >= length else { throw Self.malformed }
        let bytes = data[offset..<(offset + length)]
        offset += length
        // Exactly two NUL bytes, as RecordKey(bytes:) asks.
        guard let first = bytes.firstIndex(of: 0),
            let second = bytes[(first + 1)...].firstIndex(of: 0),
            !bytes[(second + 1)...].contains(0)
        else { throw Self.malformed }
        return recent.key(authid: bytes[..<first], realm: bytes[(first + 1)..<second], property: bytes[(second + 1)...])
    }

    mutating func operation() throws -> WriteBatch.Operation {
        switch try byte() {
        case 1: return .put(try key(), try bytes())
        case 2: return .delete(try key())
        case 3: return .deleteUser(UserID(authid: try bytes(), realm: try bytes()))
        case 4:
            let user = UserID(authid: try bytes(), realm: try bytes())
            return .moveProperty(user, from: Property(bytes: try bytes()), to: Property(bytes: try bytes()))
        default: throw Self.malformed
        }
    }

    /// What `db init` did, as ``WireWriter/schemaInitialization(_:)`` wrote it.
    package mutating func schemaInitialization() throws -> SchemaInitialization {
        let kind = try byte()
        let version = try count()
        let from = try count()
        switch kind {
        case 1: return .created(version: version)
        case 2: return .migrated(from: from, to: version)
        case 3: return .current(version: version)
        default: throw Self.malformed
        }
    }

    /// The error a failed response carries.
    mutating func error() throws -> SASLDBError {
        let tag = try byte()
        var values: [String] = []
        for _ in 0..<(try count()) { values.append(try string()) }
        func value(_ index: Int) throws -> String {
            guard index < values.count else { throw Self.malformed }
            return values[index]
        }
        switch tag {
        case 1: return .unavailable(store: try value(0), detail: try value(1))
        case 2: return .loginRefused(store: try value(0), user: try value(1), detail: try value(2))
        case 3:
            guard let supported = Int(try value(2)) else { throw Self.malformed }
            return .schemaVersion(store: try value(0), found: Int(try value(1)), supported: supported)
        case 4: return .invalidValue(try value(0))
        case 5: return .invalidName(try value(0))
        case 6: return .invalidPassword(try value(0))
        case 7: return .permissionDenied(path: try value(0), operation: try value(1))
        case 8: return .backend(path: try value(0), detail: try value(1))
        default: throw Self.malformed
        }
    }
}
