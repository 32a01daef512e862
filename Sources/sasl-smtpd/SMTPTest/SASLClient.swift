import SASLDB
import SASLMechanisms

/// The client side of the mechanisms `smtp-test` speaks: PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1 and
/// SCRAM-SHA-256. One value per attempt; each server challenge goes to ``respond(to:)``.
struct SASLClient {
    /// Why the exchange cannot go on.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The mechanism's IANA name.
    let mechanism: String
    private let user: String
    private let password: [UInt8]
    private let host: String
    private var state = 0
    private var scram: (hash: HashAlgorithm, clientFirstBare: String, nonce: String, serverSignature: [UInt8]?)?

    /// The mechanisms implemented.
    static let supported = ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"]

    /// Creates a client for `mechanism` (case-insensitive).
    ///
    /// - Parameter host: the server's name, for DIGEST-MD5's `digest-uri` (`smtp/HOST`).
    init(mechanism: String, user: String, password: [UInt8], host: String) throws(Failure) {
        self.mechanism = mechanism.uppercased()
        guard Self.supported.contains(self.mechanism) else {
            throw Failure(description: "mechanism \(mechanism) is not one of \(Self.supported.joined(separator: " "))")
        }
        self.user = user
        self.password = password
        self.host = host
    }

    /// The initial response sent with `AUTH`, if the mechanism has one.
    mutating func initialResponse() throws(Failure) -> [UInt8]? {
        switch mechanism {
        case "PLAIN":
            state = 1
            return [0] + Array(user.utf8) + [0] + password
        case "SCRAM-SHA-1", "SCRAM-SHA-256":
            let nonce = Base64.encode(SecureRandom.bytes(count: 18))
            let bare = "n=" + Self.saslName(user) + ",r=" + nonce
            scram = (mechanism == "SCRAM-SHA-1" ? .sha1 : .sha256, bare, nonce, nil)
            state = 1
            return Array(("n,," + bare).utf8)
        default:
            return nil
        }
    }

    /// The response to a `334` challenge.
    mutating func respond(to challenge: [UInt8]) throws(Failure) -> [UInt8] {
        defer { state += 1 }
        switch (mechanism, state) {
        case ("LOGIN", 0): return Array(user.utf8)
        case ("LOGIN", 1): return password
        case ("CRAM-MD5", 0):
            return Array((user + " " + Hex.encode(hmac(.md5, key: password, challenge))).utf8)
        case ("DIGEST-MD5", 0): return try digestResponse(challenge)
        case ("DIGEST-MD5", 1): return []  // rspauth: acknowledged with an empty line
        case ("SCRAM-SHA-1", 1), ("SCRAM-SHA-256", 1): return try scramFinal(challenge)
        case ("SCRAM-SHA-1", 2), ("SCRAM-SHA-256", 2):
            try verifyServerFinal(challenge)
            return []
        case ("PLAIN", _): throw Failure(description: "PLAIN got a challenge after its initial response")
        default: throw Failure(description: "unexpected challenge number \(state + 1) for \(mechanism)")
        }
    }

    /// Whether the response to challenge `index` holds the password in the clear (shown as `********`).
    func revealsPassword(response index: Int) -> Bool {
        (mechanism == "PLAIN" && index == 0) || (mechanism == "LOGIN" && index == 2)
    }

    /// A response as the transcript shows it: printable, the password replaced by `********`.
    func display(_ response: [UInt8], response index: Int) -> String {
        guard revealsPassword(response: index) else { return Self.printable(response) }
        if mechanism == "PLAIN", let last = response.lastIndex(of: 0) {
            return Self.printable(Array(response[..<last])) + "\u{2400}********"
        }
        return "********"
    }

    /// Bytes as one printable line: NUL as `␀`, other control characters as `?`.
    static func printable(_ bytes: [UInt8]) -> String {
        String(
            String(decoding: bytes, as: UTF8.self).unicodeScalars.map { scalar -> Character in
                scalar.value == 0 ? "\u{2400}" : (scalar.value < 0x20 || scalar.value == 0x7F ? "?" : Character(scalar))
            }
        )
    }

    // MARK: - SCRAM (RFC 5802)

    private mutating func scramFinal(_ challenge: [UInt8]) throws(Failure) -> [UInt8] {
        guard let scram, let serverFirst = String(validating: challenge, as: UTF8.self) else {
            throw Failure(description: "the server-first-message is not UTF-8")
        }
        let fields = Self.fields(serverFirst, separator: ",")
        guard let nonce = fields["r"], nonce.hasPrefix(scram.nonce), let saltText = fields["s"],
            let salt = Base64.decode(saltText), let iterations = fields["i"].flatMap({ Int($0) }),
            (1...1_000_000).contains(iterations)
        else { throw Failure(description: "malformed server-first-message: \(serverFirst)") }
        let prepared: [UInt8]
        do throws(SASLFailure) {
            prepared = try saslPrep(password, allowUnassigned: false)
        } catch {
            throw Failure(description: "the password is refused by SASLprep")
        }
        let salted = pbkdf2(
            scram.hash,
            password: prepared,
            salt: salt,
            iterations: iterations,
            length: scram.hash.digestLength
        )
        let clientKey = hmac(scram.hash, key: salted, Array("Client Key".utf8))
        let storedKey = digest(scram.hash, clientKey)
        let withoutProof = "c=biws,r=" + nonce
        let authMessage = Array((scram.clientFirstBare + "," + serverFirst + "," + withoutProof).utf8)
        let signature = hmac(scram.hash, key: storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = hmac(scram.hash, key: salted, Array("Server Key".utf8))
        self.scram?.serverSignature = hmac(scram.hash, key: serverKey, authMessage)
        return Array((withoutProof + ",p=" + Base64.encode(proof)).utf8)
    }

    private func verifyServerFinal(_ challenge: [UInt8]) throws(Failure) {
        let text = String(decoding: challenge, as: UTF8.self)
        guard let expected = scram?.serverSignature, let value = Self.fields(text, separator: ",")["v"],
            let signature = Base64.decode(value), constantTimeEqual(signature, expected)
        else { throw Failure(description: "the server's SCRAM signature is wrong: it does not know the password") }
    }

    /// `=` and `,` escaped as `=3D` and `=2C`.
    private static func saslName(_ name: String) -> String {
        var out = ""
        for character in name {
            switch character {
            case "=": out += "=3D"
            case ",": out += "=2C"
            default: out.append(character)
            }
        }
        return out
    }

    // MARK: - DIGEST-MD5 (RFC 2831)

    private func digestResponse(_ challenge: [UInt8]) throws(Failure) -> [UInt8] {
        let text = String(decoding: challenge, as: UTF8.self)
        let fields = Self.fields(text, separator: ",")
        guard let nonce = fields["nonce"] else { throw Failure(description: "DIGEST-MD5 challenge without nonce") }
        let realm = fields["realm"] ?? ""
        let cnonce = Base64.encode(SecureRandom.bytes(count: 16))
        let uri = "smtp/" + host
        let nc = "00000001"
        let a1 =
            digest(.md5, Array((user + ":" + realm + ":").utf8) + password) + Array((":" + nonce + ":" + cnonce).utf8)
        let a2 = "AUTHENTICATE:" + uri
        let response = Hex.encode(
            digest(
                .md5,
                Array(
                    (Hex.encode(digest(.md5, a1)) + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:"
                        + Hex.encode(digest(.md5, Array(a2.utf8)))).utf8
                )
            )
        )
        var parts = ["username=\"\(user)\""]
        if !realm.isEmpty { parts.append("realm=\"\(realm)\"") }
        parts += [
            "nonce=\"\(nonce)\"", "cnonce=\"\(cnonce)\"", "nc=\(nc)", "qop=auth", "digest-uri=\"\(uri)\"",
            "response=\(response)", "charset=utf-8",
        ]
        return Array(parts.joined(separator: ",").utf8)
    }

    /// `key=value` pairs split at `separator`, quotes removed (enough for these servers' challenges).
    private static func fields(_ text: String, separator: Character) -> [String: String] {
        var result: [String: String] = [:]
        var current = ""
        var quoted = false
        var pairs: [String] = []
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == separator && !quoted {
                pairs.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pairs.append(current)
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<equals].trimmingBlanks
            var value = String(pair[pair.index(after: equals)...]).trimmingBlanks
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}

extension StringProtocol {
    /// Without blanks at either end.
    fileprivate var trimmingBlanks: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
