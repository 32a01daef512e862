import SASLDB

/// The server side of DIGEST-MD5 (RFC 2831) for one authentication attempt, with `qop=auth` only.
///
/// ## Exchange
/// 1. The server sends `realm="<realm>",nonce="<fresh nonce>",qop="auth",charset=utf-8,algorithm=md5-sess`. The
///    realm is ``SASLServerContext/defaultRealm``: like Cyrus (`get_server_realm`), the user realm when one is
///    configured, else the host name. DIGEST-MD5 has no initial response for a first authentication, so a client
///    response in the `AUTH` command is a protocol error.
/// 2. The client's digest-response is parsed strictly (``DigestDirectives``) and checked: the nonce is ours, `nc` is
///    `00000001`, `qop` is `auth` (integrity and privacy layers are not offered: SMTP has TLS), `charset` if present is
///    `utf-8`, the `digest-uri` names our service and, by default, our host. The server answers `rspauth=<hex>`.
/// 3. The client's empty response ends the exchange with success.
///
/// Subsequent authentication (RFC 2831 §2.2) is not supported: every exchange starts from step 1.
///
/// `username` and `realm` are UTF-8 when the client sends `charset=utf-8` (invalid UTF-8 is then refused). Without it
/// RFC 2831 means ISO-8859-1, but Cyrus's client never sends `charset` and sends UTF-8 names, which Cyrus's server
/// takes as they are; so a value that is valid UTF-8 is taken as UTF-8 and anything else as ISO-8859-1.
///
/// ## Which user is checked, as in Cyrus 2.1.28
/// With `username` and `realm` as the client sent them and `offered` the realm of the challenge:
/// - `realm == offered`: the login name is `username`, mapped by ``SASLServerContext/user(forLogin:)``: split at the
///   first `@` when it has one, else in ``SASLServerContext/defaultRealm``.
/// - `realm != offered` (the client picked its own realm): the login name is `username@realm` (`username` alone when
///   `realm` is empty), then mapped the same way — so `username="a@b"` with `realm="c"` looks up authid `a` in realm
///   `b@c`, exactly as Cyrus does.
/// - A missing `realm` when one was offered is refused, as in Cyrus.
///
/// Observed with Debian's Cyrus server and sample client: the client sends `username="alice@Example.COM"` and the
/// offered `realm="localhost"`, and the server looks up `alice` in `Example.COM`.
///
/// ## Which secret verifies it
/// The client's digest is built on H(username ":" realm ":" password) with username and realm as it sent them.
/// - With a plaintext `userPassword`, that value is computed here in the three forms real clients use for non-ASCII
///   text: every part converted to ISO-8859-1 when representable (RFC 2831, Cyrus), every part raw UTF-8 (Perl
///   Authen::SASL; Cyrus's server tries these two), and only the password converted (GNU SASL). Any username/realm
///   combination works, including `username="u@realm"` with the offered realm.
/// - With only a stored `cmusaslsecretDIGEST-MD5` hash, which is MD5(authid ":" realm ":" password) of the record, the
///   digest can be checked only when the client's `username` and `realm` equal the record's authid and realm byte
///   for byte, which by the mapping above means a username without `@`, and only for clients that convert to
///   ISO-8859-1 as the stored hash does (Cyrus; GNU SASL and Perl too when username, realm and password are ASCII).
///   Otherwise the attempt fails; when the names differ, with a reason that names the cause.
///
/// Client settings that work with verifier-only users (user `alice`, realm `Example.COM`):
/// - log in as `alice` (no `@`) and let the client answer with the offered realm, when the server's
///   ``SASLServerContext/defaultRealm`` is the user's realm (`Example.COM`);
/// - or log in as `alice` and set the client's realm to `Example.COM` explicitly (GNU SASL `--realm`, Perl
///   Authen::SASL's `realm` callback, Cyrus's realm callback).
/// Clients that only take `alice@Example.COM` as a login name and answer the offered realm (swaks, curl, msmtp, the
/// Cyrus sample client) need the plaintext, or a default realm equal to the user's realm and the login name `alice`.
///
/// ## Failures
/// Unknown user, disabled user (whose secrets ``CredentialStore/disable(_:)`` set aside), a user with no secret
/// DIGEST-MD5 can use, and a wrong password all give the same ``SASLFailure/authenticationFailed(reason:)`` value, with
/// the reason every mechanism of this library gives, after the same work: three H(username:realm:password) values and
/// three responses, the missing ones computed from a dummy password whose matches are discarded. Only a digest that a
/// stored hash cannot check (above) gets its own reason, which names the cause for the server's log. Anything
/// malformed gives ``SASLFailure/malformed(reason:)`` (or ``SASLFailure/tooLong(limit:)``) and ends the exchange.
///
/// ## Bounds on the client's input
/// The digest-response is at most ``maximumResponseLength`` bytes and ``maximumDirectiveCount`` directives;
/// `username`, `realm` and `authzid` at most ``maximumIdentityLength`` bytes; `cnonce` at most
/// ``maximumClientNonceLength`` bytes; `nc` exactly 8 and `response` exactly 32 lowercase hex digits; `maxbuf` at most
/// 16777215; the final response empty.
public struct DigestMD5Mechanism: SASLServerMechanism {
    /// The IANA name.
    public static let name = "DIGEST-MD5"

    /// The longest digest-response accepted, in bytes: RFC 2831 requires less than 4096.
    public static let maximumResponseLength = DigestDirectives.maximumLength
    /// The most directives accepted in a digest-response.
    public static let maximumDirectiveCount = DigestDirectives.maximumCount
    /// The longest `username`, `realm` or `authzid`, in bytes: a record's parts are no longer (``UserID``).
    public static let maximumIdentityLength = UserID.maximumPartLength
    /// The longest `cnonce`, in bytes; real clients send 16 to 64.
    public static let maximumClientNonceLength = 256
    /// The longest challenge sent: RFC 2831 requires a digest-challenge to be less than 2048 bytes.
    public static let maximumChallengeLength = 2047

    /// Which hosts a client's `digest-uri` (`<service>/<host>[/<serv-name>]`) may name.
    public enum AcceptedHosts: Sendable, Equatable {
        /// The context's ``SASLServerContext/hostName`` and these other names of the server, compared ASCII
        /// case-insensitively. Clients put the name they connected to, so list every name clients use (an address
        /// literal too, if clients connect by address).
        case hostName(alsoAccepting: [String])
        /// Any host, as Cyrus does (it checks only the service part).
        case any

        /// Only the context's host name.
        public static let hostNameOnly = AcceptedHosts.hostName(alsoAccepting: [])
    }

    private enum State: Sendable {
        case start
        case awaitingResponse(nonce: [UInt8])
        case awaitingAcknowledgement(AuthenticatedIdentity)
        case finished
    }

    private let context: SASLServerContext
    private let acceptedHosts: AcceptedHosts
    private let fixedNonce: [UInt8]?
    private var state = State.start

    /// The `username` directive as the client sent it (quotes and escapes removed), once the digest-response parsed.
    public private(set) var claimedLogin: [UInt8]?

    /// Creates the mechanism for one attempt.
    ///
    /// - Parameters:
    ///   - context: where secrets are read and how names map to users; `service` and `hostName` form the expected
    ///     `digest-uri`, `defaultRealm` is the realm offered.
    ///   - acceptedHosts: which hosts the `digest-uri` may name; by default only the context's host name.
    public init(context: SASLServerContext, acceptedHosts: AcceptedHosts = .hostNameOnly) {
        self.context = context
        self.acceptedHosts = acceptedHosts
        self.fixedNonce = nil
    }

    /// Creates the mechanism with a fixed nonce, to replay known exchanges (RFC 2831 §4) in tests.
    init(context: SASLServerContext, acceptedHosts: AcceptedHosts = .hostNameOnly, nonce: String) {
        self.context = context
        self.acceptedHosts = acceptedHosts
        self.fixedNonce = Array(nonce.utf8)
    }

    /// The first step only makes the challenge (a fresh nonce and the realm).
    public func stepIsImmediate(for response: [UInt8]?) -> Bool {
        guard case .start = state else { return false }
        return true
    }

    /// Feeds the client's next response: `nil` first (no initial response), then the digest-response, then an empty
    /// response acknowledging `rspauth`.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        switch state {
        case .start:
            guard response == nil else {
                state = .finished
                return .failure(.malformed(reason: "DIGEST-MD5 takes no initial response (RFC 2831 §2.1)"))
            }
            let nonce = fixedNonce ?? Array(Base64.encode(secureRandomBytes(count: Self.nonceByteCount)).utf8)
            do {
                let challenge = try makeChallenge(nonce: nonce)
                state = .awaitingResponse(nonce: nonce)
                return .challenge(challenge)
            } catch {
                state = .finished
                return .failure(error)
            }
        case .awaitingResponse(let nonce):
            state = .finished
            guard let response else {
                return .failure(.malformed(reason: "expected a DIGEST-MD5 digest-response, got none"))
            }
            do {
                let (identity, rspauth) = try verify(response, nonce: nonce)
                state = .awaitingAcknowledgement(identity)
                return .challenge(Array("rspauth=".utf8) + Array(Hex.encode(rspauth).utf8))
            } catch {
                return .failure(error)
            }
        case .awaitingAcknowledgement(let identity):
            state = .finished
            guard let response, response.isEmpty else {
                return .failure(.malformed(reason: "expected an empty response after rspauth"))
            }
            return .success(identity)
        case .finished:
            return .failure(.malformed(reason: "the DIGEST-MD5 exchange is already over"))
        }
    }

    // MARK: - Challenge

    /// 30 random bytes: 240 bits, 40 base64 characters without padding (Cyrus sends 32 bytes).
    private static let nonceByteCount = 30

    private func makeChallenge(nonce: [UInt8]) throws(SASLFailure) -> [UInt8] {
        var challenge: [UInt8] = []
        let realm = Array(context.defaultRealm.utf8)
        // Without a realm the client uses an empty one (RFC 2831 §2.1.2), which matches records with an empty realm.
        if !realm.isEmpty {
            guard !realm.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                throw .temporary(
                    reason: "the realm \(context.defaultRealm.debugDescription) contains control characters"
                )
            }
            challenge += Array("realm=\"".utf8) + Self.escaped(realm) + [Self.quote, Self.comma]
        }
        challenge += Array("nonce=\"".utf8) + nonce + Array("\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8)
        guard challenge.count <= Self.maximumChallengeLength else {
            throw .temporary(reason: "the realm is too long for a DIGEST-MD5 challenge (RFC 2831: under 2048 bytes)")
        }
        return challenge
    }

    private static func escaped(_ value: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        for byte in value {
            if byte == quote || byte == backslash { output.append(backslash) }
            output.append(byte)
        }
        return output
    }

    // MARK: - Digest-response

    /// The directives of a digest-response (RFC 2831 §2.1.2); `algorithm` and others are ignored.
    private static let knownDirectives: Set<String> = [
        "username", "realm", "nonce", "cnonce", "nc", "qop", "digest-uri", "response", "maxbuf", "charset", "cipher",
        "authzid",
    ]

    /// Checks a digest-response; returns who logged in and the rspauth value.
    private mutating func verify(
        _ input: [UInt8],
        nonce: [UInt8]
    ) throws(SASLFailure) -> (AuthenticatedIdentity, [UInt8]) {
        guard !input.isEmpty else { throw .malformed(reason: "the digest-response is empty") }
        let directives = try DigestDirectives(parsing: input, known: Self.knownDirectives)
        claimedLogin = directives["username"]
        let response = try DigestResponse(directives, expectedNonce: nonce)
        try checkDigestURI(response.digestURI)

        let offeredRealm = Array(context.defaultRealm.utf8)
        guard let realm = response.realm ?? (offeredRealm.isEmpty ? [] : nil) else {
            throw .malformed(
                reason: "the digest-response has no realm, but the server offered \(Self.show(offeredRealm))"
            )
        }
        // Cyrus appends the client's realm only when the client chose another realm than the one offered.
        let login =
            realm == offeredRealm || realm.isEmpty ? response.username : response.username + [Self.at] + realm
        let user = try context.user(forLogin: login)
        let secrets = try context.secrets(for: user)

        let candidates = DigestCandidates(user: user, secrets: secrets, username: response.username, realm: realm)
        let digestA2 = Hex.encode(HashAlgorithm.md5.digest(Array("AUTHENTICATE:".utf8) + response.digestURI))
        let sessionKeys = candidates.secrets.map { response.sessionKey(secret: $0) }
        let expected = sessionKeys.map { response.digest(sessionKey: $0, hashedA2: digestA2) }
        // Every comparison runs, so the time does not depend on which candidate (if any) is real.
        let matches = zip(expected, candidates.usable).map { constantTimeEqual($0.0, response.response) && $0.1 }
        guard let index = matches.firstIndex(of: true) else {
            throw .authenticationFailed(reason: candidates.failureReason(user: user, response: response, realm: realm))
        }

        let authorizationID = try context.authorizationID(response.authzid ?? [], for: user, login: login)
        let rspauthA2 = Hex.encode(HashAlgorithm.md5.digest([Self.colon] + response.digestURI))
        let rspauth = response.digest(sessionKey: sessionKeys[index], hashedA2: rspauthA2)
        return (AuthenticatedIdentity(user: user, authorizationID: authorizationID), rspauth)
    }

    /// Checks `serv-type "/" host [ "/" serv-name ]` against the context's service and the accepted hosts.
    private func checkDigestURI(_ uri: [UInt8]) throws(SASLFailure) {
        let parts = uri.split(separator: Self.slash, omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .malformed(reason: "the digest-uri \(Self.show(uri)) is not <service>/<host>[/<name>]")
        }
        guard Self.equalIgnoringASCIICase(parts[0], Array(context.service.utf8)) else {
            throw .malformed(reason: "the digest-uri \(Self.show(uri)) is not for the service '\(context.service)'")
        }
        switch acceptedHosts {
        case .any:
            return
        case .hostName(let aliases):
            let names = [context.hostName] + aliases
            guard names.contains(where: { Self.equalIgnoringASCIICase(parts[1], Array($0.utf8)) }) else {
                throw .malformed(
                    reason: "the digest-uri \(Self.show(uri)) names another host than \(names.joined(separator: ", "))"
                )
            }
        }
    }

    private static func equalIgnoringASCIICase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        func fold(_ byte: UInt8) -> UInt8 { (0x41...0x5a).contains(byte) ? byte | 0x20 : byte }
        return a.count == b.count && zip(a, b).allSatisfy { fold($0) == fold($1) }
    }

    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let slash = UInt8(ascii: "/")
    static let at = UInt8(ascii: "@")

    /// A client-supplied value for the log: quoted, control characters escaped, invalid UTF-8 as U+FFFD, cut at 64
    /// bytes.
    static func show(_ bytes: [UInt8]) -> String {
        let limit = 64
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return text.debugDescription + (bytes.count > limit ? "…" : "")
    }
}
