import SASLDB

/// The H(username:realm:password) values tried, computed the same way whatever secrets the user has.
///
/// Clients disagree on RFC 2831's rule for non-ASCII text ("if all the characters of either username-value or passwd
/// are in ISO 8859-1"), so three forms are tried, each only different from the others when some part is non-ASCII:
/// 1. every part converted to ISO-8859-1 when representable: Cyrus's client, and the stored hash;
/// 2. every part as raw UTF-8: Perl Authen::SASL; Cyrus's server tries it too;
/// 3. username and realm as raw UTF-8, the password converted: GNU SASL (Cyrus's server does not try this one).
struct DigestCandidates {
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
            \(user) has only a stored DIGEST-MD5 hash, bound to username \(DigestMD5Mechanism.show(user.authid)) and realm \
            \(DigestMD5Mechanism.show(user.realm)), but the client sent username \(DigestMD5Mechanism.show(response.username)) and realm \(DigestMD5Mechanism.show(realm)), \
            which only the plaintext password can check: set the client's login name to \(DigestMD5Mechanism.show(user.authid)) \
            and its realm to \(DigestMD5Mechanism.show(user.realm)), or store the plaintext
            """
    }
}
