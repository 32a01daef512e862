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
    private func verify(_ input: [UInt8], nonce: [UInt8]) throws(SASLFailure) -> (AuthenticatedIdentity, [UInt8]) {
        guard !input.isEmpty else { throw .malformed(reason: "the digest-response is empty") }
        let directives = try DigestDirectives(parsing: input, known: Self.knownDirectives)
        let response = try DigestResponse(directives, expectedNonce: nonce)
        try checkDigestURI(response.digestURI)

        let offeredRealm = Array(context.defaultRealm.utf8)
        guard let realm = response.realm ?? (offeredRealm.isEmpty ? [] : nil) else {
            throw .malformed(
                reason: "the digest-response has no realm, but the server offered \(show(offeredRealm))"
            )
        }
        // Cyrus appends the client's realm only when the client chose another realm than the one offered.
        let login =
            realm == offeredRealm || realm.isEmpty ? response.username : response.username + [Self.at] + realm
        let user = try context.user(forLogin: login)
        let secrets = try context.secrets(for: user)

        let candidates = Candidates(user: user, secrets: secrets, username: response.username, realm: realm)
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
            throw .malformed(reason: "the digest-uri \(show(uri)) is not <service>/<host>[/<name>]")
        }
        guard Self.equalIgnoringASCIICase(parts[0], Array(context.service.utf8)) else {
            throw .malformed(reason: "the digest-uri \(show(uri)) is not for the service '\(context.service)'")
        }
        switch acceptedHosts {
        case .any:
            return
        case .hostName(let aliases):
            let names = [context.hostName] + aliases
            guard names.contains(where: { Self.equalIgnoringASCIICase(parts[1], Array($0.utf8)) }) else {
                throw .malformed(
                    reason: "the digest-uri \(show(uri)) names another host than \(names.joined(separator: ", "))"
                )
            }
        }
    }

    private static func equalIgnoringASCIICase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        func fold(_ byte: UInt8) -> UInt8 { (0x41...0x5a).contains(byte) ? byte | 0x20 : byte }
        return a.count == b.count && zip(a, b).allSatisfy { fold($0) == fold($1) }
    }

    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let slash = UInt8(ascii: "/")
    fileprivate static let at = UInt8(ascii: "@")
}

/// The directives of a digest-response the server uses, validated and bounded.
private struct DigestResponse {
    /// UTF-8; without `charset=utf-8`, converted from ISO-8859-1 unless it already is valid UTF-8.
    var username: [UInt8]
    /// UTF-8 like `username`; `nil` when absent.
    var realm: [UInt8]?
    var nonce: [UInt8]
    var clientNonce: [UInt8]
    /// Exactly the 8 hex digits sent (value 1).
    var nonceCount: [UInt8]
    /// As sent (case kept, since it is hashed), `auth` when absent.
    var qop: [UInt8]
    var digestURI: [UInt8]
    /// The 16 bytes decoded from the `response` hex.
    var response: [UInt8]
    /// UTF-8; `nil` when absent (an empty one is still hashed, as Cyrus does).
    var authzid: [UInt8]?

    init(_ directives: DigestDirectives, expectedNonce: [UInt8]) throws(SASLFailure) {
        func required(_ name: String) throws(SASLFailure) -> [UInt8] {
            guard let value = directives[name] else {
                throw .malformed(reason: "the digest-response has no \(name) directive")
            }
            return value
        }

        // RFC 2831: only "utf-8" may be named; without it username and realm are ISO-8859-1 (but see identity()).
        let isUTF8: Bool
        if let charset = directives["charset"] {
            guard String(decoding: charset, as: UTF8.self).lowercased() == "utf-8" else {
                throw .malformed(reason: "charset \(show(charset)) is not utf-8")
            }
            isUTF8 = true
        } else {
            isUTF8 = false
        }

        qop = directives["qop"] ?? Array("auth".utf8)
        guard String(decoding: qop, as: UTF8.self).lowercased() == "auth" else {
            throw .malformed(
                reason: "qop=\(show(qop)) asks for a security layer; only qop=auth is offered (use TLS)"
            )
        }

        nonce = try required("nonce")
        guard nonce == expectedNonce else {
            throw .malformed(reason: "the nonce is not the one this server sent")
        }

        nonceCount = try required("nc")
        guard nonceCount.count == 8, nonceCount.allSatisfy(isLowercaseHexDigit),
            Hex.decode(String(decoding: nonceCount, as: UTF8.self)) == [0, 0, 0, 1]
        else {
            throw .malformed(
                reason: "nc=\(show(nonceCount)) is not 00000001 (subsequent authentication is not supported)"
            )
        }

        clientNonce = try required("cnonce")
        guard !clientNonce.isEmpty, clientNonce.count <= DigestMD5Mechanism.maximumClientNonceLength else {
            throw .malformed(
                reason: "the cnonce must be 1 to \(DigestMD5Mechanism.maximumClientNonceLength) bytes long"
            )
        }

        digestURI = try required("digest-uri")

        let responseHex = try required("response")
        // RFC 2831's LHEX: Cyrus compares the text with its own lowercase digest, so uppercase never worked.
        guard responseHex.count == 32, responseHex.allSatisfy(isLowercaseHexDigit),
            let digest = Hex.decode(String(decoding: responseHex, as: UTF8.self))
        else {
            throw .malformed(reason: "the response is not 32 lowercase hex digits")
        }
        response = digest

        if let maxbuf = directives["maxbuf"] {
            // Meaningless without a security layer, but Cyrus refuses a malformed one and so do we.
            guard maxbuf.count <= 8, maxbuf.allSatisfy({ (0x30...0x39).contains($0) }),
                let size = Int(String(decoding: maxbuf, as: UTF8.self)), (17...16_777_215).contains(size)
            else {
                throw .malformed(reason: "maxbuf=\(show(maxbuf)) is not a number from 17 to 16777215")
            }
        }

        username = try Self.identity(try required("username"), named: "username", isUTF8: isUTF8)
        guard !username.isEmpty else { throw .malformed(reason: "the username is empty") }
        realm = try directives["realm"].map { (value) throws(SASLFailure) in
            try Self.identity(value, named: "realm", isUTF8: isUTF8)
        }
        // RFC 2831 §2.1.2: the authzid is UTF-8 whatever the charset.
        authzid = try directives["authzid"].map { (value) throws(SASLFailure) in
            try Self.identity(value, named: "authzid", isUTF8: true)
        }
    }

    /// Bounds a name and brings it to UTF-8.
    private static func identity(_ value: [UInt8], named name: String, isUTF8: Bool) throws(SASLFailure) -> [UInt8] {
        guard value.count <= DigestMD5Mechanism.maximumIdentityLength else {
            throw .malformed(reason: "the \(name) is longer than \(DigestMD5Mechanism.maximumIdentityLength) bytes")
        }
        let isValidUTF8 = String(validating: value, as: UTF8.self) != nil
        if isUTF8 {
            guard isValidUTF8 else {
                throw .malformed(reason: "the \(name) is not valid UTF-8 although charset=utf-8 was sent")
            }
            return value
        }
        // Without charset RFC 2831 means ISO-8859-1, but Cyrus's client sends UTF-8 names without charset and Cyrus's
        // server never converts them: valid UTF-8 is taken as is, anything else as ISO-8859-1 (whose bytes are the
        // first 256 Unicode scalars). A real ISO-8859-1 name is rarely valid UTF-8.
        if isValidUTF8 { return value }
        return Array(String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) })).utf8)
    }

    /// H(A1) = H(secret ":" nonce ":" cnonce [":" authzid]), the session key of md5-sess.
    func sessionKey(secret: [UInt8]) -> [UInt8] {
        let colon = DigestMD5Mechanism.colon
        var a1 = secret + [colon] + nonce + [colon] + clientNonce
        if let authzid { a1 += [colon] + authzid }
        return HashAlgorithm.md5.digest(a1)
    }

    /// KD(HEX(H(A1)), nonce ":" nc ":" cnonce ":" qop ":" HEX(H(A2))), as raw bytes.
    func digest(sessionKey: [UInt8], hashedA2: String) -> [UInt8] {
        let colon = DigestMD5Mechanism.colon
        let data =
            Array(Hex.encode(sessionKey).utf8) + [colon] + nonce + [colon] + nonceCount + [colon] + clientNonce
            + [colon] + qop + [colon] + Array(hashedA2.utf8)
        return HashAlgorithm.md5.digest(data)
    }
}

/// The H(username:realm:password) values tried, computed the same way whatever secrets the user has.
///
/// Clients disagree on RFC 2831's rule for non-ASCII text ("if all the characters of either username-value or passwd
/// are in ISO 8859-1"), so three forms are tried, each only different from the others when some part is non-ASCII:
/// 1. every part converted to ISO-8859-1 when representable: Cyrus's client, and the stored hash;
/// 2. every part as raw UTF-8: Perl Authen::SASL; Cyrus's server tries it too;
/// 3. username and realm as raw UTF-8, the password converted: GNU SASL (Cyrus's server does not try this one).
private struct Candidates {
    enum Source {
        case plaintext
        case storedHash(usable: Bool)
        case none
    }

    let source: Source
    let secrets: [[UInt8]]
    /// Whether each value is a real candidate; a value computed from the dummy password never matches.
    let usable: [Bool]

    /// Never a real password: the dummy only keeps the work equal for users without a usable secret.
    private static let dummyPassword = Array("dummy password for unknown users".utf8)

    init(user: UserID, secrets stored: UserSecrets, username: [UInt8], realm: [UInt8]) {
        let password = stored.plaintext ?? Self.dummyPassword
        let colon = DigestMD5Mechanism.colon
        let forms = [
            DigestMD5Secret.hash(authid: username, realm: realm, password: password),
            DigestMD5Secret.hash(authid: username, realm: realm, password: password, convertingToLatin1: false),
            HashAlgorithm.md5.digest(username + [colon] + realm + [colon] + Latin1.convertIfRepresentable(password)),
        ]
        if stored.plaintext != nil {
            source = .plaintext
            secrets = forms
            usable = [true, true, true]
        } else if let hash = stored.digestMD5 {
            // The stored hash is bound to the record's authid and realm; the client's to its username and realm.
            // It is the first form of the record's names, so only a client using that form can match it.
            let matchesRecord = user.authid == username && user.realm == realm
            source = .storedHash(usable: matchesRecord)
            secrets = [matchesRecord ? hash : forms[0], forms[1], forms[2]]
            usable = [matchesRecord, false, false]
        } else {
            source = .none
            secrets = forms
            usable = [false, false, false]
        }
    }

    /// The reason of a failed attempt, for the server's log.
    ///
    /// Every mechanism gives the one ``PasswordCheck/failureReason`` for a wrong password, an unknown or disabled user
    /// and a user without a usable secret, so not even the log tells them apart. The exception is a digest that the
    /// stored hash cannot check whatever the password: the administrator must learn the cause to fix the client.
    func failureReason(user: UserID, response: DigestResponse, realm: [UInt8]) -> String {
        guard case .storedHash(usable: false) = source else { return PasswordCheck.failureReason }
        return """
            \(user) has only a stored DIGEST-MD5 hash, bound to username \(show(user.authid)) and realm \
            \(show(user.realm)), but the client sent username \(show(response.username)) and realm \(show(realm)), \
            which only the plaintext password can check: set the client's login name to \(show(user.authid)) \
            and its realm to \(show(user.realm)), or store the plaintext
            """
    }
}

private func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
}

/// A client-supplied value for the log: quoted, control characters escaped, invalid UTF-8 as U+FFFD, cut at 64 bytes.
private func show(_ bytes: [UInt8]) -> String {
    let limit = 64
    let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
    return text.debugDescription + (bytes.count > limit ? "…" : "")
}
