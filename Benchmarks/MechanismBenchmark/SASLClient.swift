import SASLDB

/// The client side of each mechanism, just enough to drive the server in the benchmark.
///
/// Hand-written because the benchmark must run without a network peer; the same computations are checked against
/// the RFC examples and real clients in the test suites.
enum SASLClient {
    /// The responses a client sends for `mechanism`, computed from the server's challenges.
    static func respond(
        mechanism: String,
        challenge: [UInt8]?,
        round: Int,
        user: String,
        password: String,
        host: String
    ) -> [UInt8]? {
        switch (mechanism, round) {
        case ("PLAIN", 0): return Array("\u{0}\(user)\u{0}\(password)".utf8)
        case ("LOGIN", 0): return Array(user.utf8)
        case ("LOGIN", 1): return Array(password.utf8)
        case ("CRAM-MD5", 0): return nil
        case ("CRAM-MD5", 1):
            let digest = HashAlgorithm.md5.hmac(key: Array(password.utf8), challenge ?? [])
            return Array("\(user) \(Hex.encode(digest))".utf8)
        case ("DIGEST-MD5", 0): return nil
        case ("DIGEST-MD5", 1): return digestResponse(challenge ?? [], user: user, password: password, host: host)
        case ("DIGEST-MD5", 2): return []
        case (_, 0) where mechanism.hasPrefix("SCRAM"): return Array("n,,n=\(user),r=benchclientnonce".utf8)
        case (_, 1) where mechanism.hasPrefix("SCRAM"):
            return scramFinal(challenge ?? [], mechanism: mechanism, user: user, password: password)
        case (_, 2) where mechanism.hasPrefix("SCRAM"): return []
        default: return []
        }
    }

    private static func attributes(_ text: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        for part in String(decoding: text, as: UTF8.self).split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let value = part[part.index(after: equals)...].trimmingCharacters(in: "\"")
            result[String(part[..<equals])] = value
        }
        return result
    }

    private static func digestResponse(_ challenge: [UInt8], user: String, password: String, host: String) -> [UInt8] {
        let fields = attributes(challenge)
        let nonce = fields["nonce"] ?? ""
        let realm = fields["realm"] ?? ""
        let cnonce = "benchcnonce"
        let uri = "smtp/\(host)"
        let md5 = HashAlgorithm.md5
        let inner = md5.digest(Array("\(user):\(realm):\(password)".utf8))
        let a1 = md5.digest(inner + Array(":\(nonce):\(cnonce)".utf8))
        let a2 = md5.digest(Array("AUTHENTICATE:\(uri)".utf8))
        let kd = "\(Hex.encode(a1)):\(nonce):00000001:\(cnonce):auth:\(Hex.encode(a2))"
        let response = Hex.encode(md5.digest(Array(kd.utf8)))
        return Array(
            ("username=\"\(user)\",realm=\"\(realm)\",nonce=\"\(nonce)\",cnonce=\"\(cnonce)\",nc=00000001,"
                + "qop=auth,digest-uri=\"\(uri)\",response=\(response),charset=utf-8").utf8
        )
    }

    private static func scramFinal(_ challenge: [UInt8], mechanism: String, user: String, password: String) -> [UInt8] {
        let fields = attributes(challenge)
        let hash: SCRAMHash = mechanism == "SCRAM-SHA-1" ? .sha1 : .sha256
        guard let salt = fields["s"].flatMap({ Base64.decode($0) }), let iterations = fields["i"].flatMap(Int.init),
            let nonce = fields["r"]
        else { return [] }
        let salted = hash.saltedPassword(password: Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = hash.clientKey(saltedPassword: salted)
        let storedKey = hash.storedKey(clientKey: clientKey)
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = "n=\(user),r=benchclientnonce,"
        let message = Array(authMessage.utf8) + challenge + Array(",\(withoutProof)".utf8)
        let signature = hash.hmac(key: storedKey, message)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        return Array("\(withoutProof),p=\(Base64.encode(proof))".utf8)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
    }
}
