import SASLDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server side of CRAM-MD5 (RFC 2195).
///
/// The server speaks first: the challenge is `<RANDOM.TIME@host>`, with RANDOM the decimal value of 64 fresh bits from
/// the system's secure random source (so it can neither be guessed nor repeat in practice), TIME the Unix time in
/// seconds and host ``SASLServerContext/hostName``. An initial response is a protocol error: the client cannot answer
/// a challenge it has not seen.
///
/// The client answers `user SP digest`, digest = HMAC-MD5(password, challenge) in hex. As in Cyrus, the digest is the
/// text after the **last** space, so a user name may contain spaces. Stricter than Cyrus (which compares the first 32
/// characters and ignores the rest), the digest must be exactly 32 **lowercase** hex digits, anything else is
/// malformed: RFC 2195 clients send lowercase, and Cyrus compares lowercase text, so an uppercase digest never
/// succeeded there either. The response is at most ``maximumResponseLength`` bytes.
///
/// The expected digest comes from the plaintext `userPassword` when stored, else from the stored CRAM-MD5 state,
/// which is Cyrus's priority. A user with neither (unknown, disabled, or holding only other verifiers) costs one
/// HMAC-MD5 like any other and fails with the same ``SASLFailure/authenticationFailed(reason:)`` as a wrong digest.
/// Digests are compared in constant time.
///
/// The user name of an answer within the bound that has a space is the ``claimedLogin``, whatever the outcome.
///
/// A client response of `*` (cancel) never reaches this type: the caller handles it before decoding.
public struct CRAMMD5Mechanism: SASLServerMechanism {
    /// The IANA name.
    public static let name = "CRAM-MD5"

    /// The length of the hex digest in a response.
    public static let digestLength = 32

    /// The longest response, in bytes: a name of ``PlainMechanism/maximumNameLength``, a space and the digest.
    public static let maximumResponseLength = PlainMechanism.maximumNameLength + 1 + digestLength

    private enum State {
        case initial
        case awaitingResponse
        case finished
    }

    private let context: SASLServerContext
    /// The challenge sent, which the client's digest is computed over.
    let challenge: [UInt8]
    private var state = State.initial

    /// The user name of the client's answer, once parsed.
    public private(set) var claimedLogin: [UInt8]?

    /// Creates the mechanism for one authentication attempt, with a fresh challenge.
    public init(context: SASLServerContext) {
        self.init(context: context, challenge: Self.makeChallenge(hostName: context.hostName))
    }

    /// Creates the mechanism with a given challenge, so that tests can replay RFC 2195's example.
    init(context: SASLServerContext, challenge: [UInt8]) {
        self.context = context
        self.challenge = challenge
    }

    /// Feeds the client's response: `nil` first gets the challenge; the answer gets success or failure.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        switch state {
        case .initial:
            state = .finished
            guard response == nil else {
                return .failure(.malformed(reason: "CRAM-MD5 starts with the server's challenge, not a response"))
            }
            state = .awaitingResponse
            return .challenge(challenge)
        case .awaitingResponse:
            state = .finished
            guard let response else { return .failure(.malformed(reason: "CRAM-MD5 expected the client's answer")) }
            return verify(response)
        case .finished:
            return .failure(.malformed(reason: "the CRAM-MD5 exchange is already over"))
        }
    }

    /// The first step only returns the challenge made in `init` (or refuses an initial response); the answer is
    /// checked at once too when the lookup holds the user's secrets in memory, since every check is one HMAC-MD5.
    public func stepIsImmediate(for response: [UInt8]?) -> Bool {
        switch state {
        case .initial:
            return true
        case .awaitingResponse:
            guard let response, response.count <= Self.maximumResponseLength,
                let space = response.lastIndex(of: UInt8(ascii: " ")),
                let user = try? context.user(forLogin: Array(response[..<space]))
            else { return false }
            return context.lookup.secretsInMemory(for: user) != nil
        case .finished:
            return false
        }
    }

    private mutating func verify(_ response: [UInt8]) -> SASLStep {
        guard response.count <= Self.maximumResponseLength else {
            return .failure(.tooLong(limit: Self.maximumResponseLength))
        }
        guard let space = response.lastIndex(of: UInt8(ascii: " ")) else {
            return .failure(.malformed(reason: "a CRAM-MD5 answer is the user name, a space and the digest"))
        }
        let login = Array(response[..<space])
        claimedLogin = login
        guard !login.isEmpty else { return .failure(.malformed(reason: "the CRAM-MD5 user name is empty")) }
        guard let digest = Self.decodeLowercaseHex(response[(space + 1)...]) else {
            return .failure(.malformed(reason: "the CRAM-MD5 digest must be 32 lowercase hex digits"))
        }
        do throws(SASLFailure) {
            let user = try context.user(forLogin: login)
            let secrets = try context.secrets(for: user)
            let expected: [UInt8]
            let usable: Bool
            if let plaintext = secrets.plaintext {
                expected = HashAlgorithm.md5.hmac(key: plaintext, challenge)
                usable = true
            } else if let state = secrets.cramMD5 {
                expected = state.hmac(challenge: challenge)
                usable = true
            } else {
                // Same work as a real user, so the answer time does not tell which names exist.
                expected = HashAlgorithm.md5.hmac(key: Self.dummyKey, challenge)
                usable = false
            }
            let matched = constantTimeEqual(expected, digest)
            guard usable, matched else { return .failure(.authenticationFailed(reason: PasswordCheck.failureReason)) }
            return .success(AuthenticatedIdentity(user: user))
        } catch {
            return .failure(error)
        }
    }

    /// The key of the stand-in HMAC for a user without a usable secret; a match is discarded.
    private static let dummyKey = [UInt8](repeating: 0x5a, count: 16)

    /// A fresh `<RANDOM.TIME@host>` challenge.
    static func makeChallenge(hostName: String) -> [UInt8] {
        let random = secureRandomBytes(count: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let seconds = time(nil)
        return Array("<\(random).\(seconds)@\(hostName)>".utf8)
    }

    /// The 16 bytes of a 32-digit lowercase hex digest, or `nil` for any other text.
    private static func decodeLowercaseHex(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count == digestLength else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digestLength / 2)
        var high: UInt8?
        for character in text {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }
}
