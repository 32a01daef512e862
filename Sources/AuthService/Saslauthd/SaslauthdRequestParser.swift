import SASLDB
import SASLMechanisms

/// Reads one saslauthd request from the bytes of a connection, as they arrive; no I/O.
///
/// A request is four counted strings (a 16-bit big-endian length, then that many bytes): login, password, service and
/// realm. libsasl since 2.1.25 sends a fifth, the client's address; older clients, and other programs speaking the
/// protocol, do not, and wait for the answer after the fourth. The parser therefore decides as soon as the fourth
/// string is complete: a fifth string already received whole (libsasl writes all five in one `writev`) is taken,
/// anything else is ignored, and it never waits for more.
///
/// Every length is checked against ``Limits`` before its bytes are awaited, so a hostile peer cannot make the server
/// buffer more than a few kilobytes. The bytes held for an incomplete request are zeroed when the parser is done with
/// them (they may hold the password).
public struct SaslauthdRequestParser: Sendable {
    /// The four strings every request has, in their order on the wire, and the optional fifth.
    public enum Field: Int, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        case login, password, service, realm, clientAddress

        /// The field's name in log lines and errors.
        public var description: String {
            switch self {
            case .login: "login"
            case .password: "password"
            case .service: "service"
            case .realm: "realm"
            case .clientAddress: "client address"
            }
        }
    }

    /// The longest string accepted in each field, in bytes.
    public struct Limits: Sendable, Equatable {
        /// The login: `authid@realm` with both parts at the store's longest, as PLAIN accepts.
        public var login = PlainMechanism.maximumNameLength
        /// The password: the longest the store accepts.
        public var password = PlainMechanism.maximumPasswordLength
        /// The service name.
        public var service = 255
        /// The realm: the store's longest realm.
        public var realm = UserID.maximumPartLength
        /// The client address (an IPv6 address with a port fits many times over).
        public var clientAddress = 255

        /// The default limits.
        public init() {}

        /// The limit of `field`.
        public func limit(of field: Field) -> Int {
            switch field {
            case .login: login
            case .password: password
            case .service: service
            case .realm: realm
            case .clientAddress: clientAddress
            }
        }
    }

    /// What the bytes received so far amount to.
    public enum Outcome: Sendable, Equatable {
        /// The request is not complete yet.
        case needMoreBytes
        /// The request is complete; bytes after it are ignored.
        case request(SaslauthdRequest)
        /// A length prefix announced a string longer than its field's limit: the request is refused without
        /// waiting for its bytes.
        case tooLong(Field)
        /// The request was already read; these bytes are ignored.
        case finished
    }

    private let limits: Limits
    private var fields: [[UInt8]] = []
    /// Received bytes not yet consumed by a complete field.
    private var pending: [UInt8] = []
    private var done = false

    /// Creates a parser for one connection.
    ///
    /// - Parameter limits: the longest string accepted per field.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Adds `bytes` received from the peer and says whether a request is complete.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> Outcome {
        guard !done else { return .finished }
        pending.append(contentsOf: bytes)
        var offset = 0
        defer { consume(offset) }
        while fields.count < 4 {
            guard let field = Field(rawValue: fields.count) else { break }
            switch Self.string(in: pending, at: offset, limit: limits.limit(of: field)) {
            case .incomplete:
                return .needMoreBytes
            case .tooLong:
                done = true
                return .tooLong(field)
            case .complete(let string, let end):
                fields.append(string)
                offset = end
            }
        }
        done = true
        var clientAddress: [UInt8]?
        if case .complete(let string, let end) = Self.string(
            in: pending,
            at: offset,
            limit: limits.limit(of: .clientAddress)
        ) {
            clientAddress = string
            offset = end
        }
        let request = SaslauthdRequest(
            login: fields[0],
            password: fields[1],
            service: fields[2],
            realm: fields[3],
            clientAddress: clientAddress
        )
        fields = []
        return .request(request)
    }

    /// Wipes the bytes still held (part of a password, for a request cut short); the parser takes no more bytes.
    public mutating func discard() {
        pending.overwriteWithZeros()
        pending = []
        for index in fields.indices { fields[index].overwriteWithZeros() }
        fields = []
        done = true
    }

    private enum Scan {
        case incomplete
        case tooLong
        case complete([UInt8], end: Int)
    }

    /// The counted string at `offset` of `bytes`.
    private static func string(in bytes: [UInt8], at offset: Int, limit: Int) -> Scan {
        guard bytes.count - offset >= 2 else { return .incomplete }
        let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        guard length <= limit else { return .tooLong }
        let start = offset + 2
        guard bytes.count - start >= length else { return .incomplete }
        return .complete(Array(bytes[start..<(start + length)]), end: start + length)
    }

    /// Drops the first `count` bytes of ``pending``, zeroing them (they may be the password), and everything once the
    /// request is complete.
    private mutating func consume(_ count: Int) {
        let end = done ? pending.count : count
        guard end > 0 else { return }
        // A copy of the rest rather than `removeFirst`, which would leave the old tail in the array's spare capacity.
        let rest = Array(pending[end...])
        pending.overwriteWithZeros()
        pending = rest
    }
}
