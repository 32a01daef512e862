import SASLDB
import ServerKit

/// What the session learns of an AUTH attempt from the client's responses: the login name it tried, for the log
/// and the failure record, and for PLAIN and LOGIN a keyed fingerprint of name and password.
///
/// The fingerprint (``CredentialFingerprint``) lets the server count a client that retries the same wrong password (a
/// misconfigured phone) once, and a client that tries many passwords many times. The material it is made from is
/// zeroed when the attempt ends.
struct AttemptedCredential {
    /// The mechanism name, uppercased.
    let mechanism: String
    /// The login name the client gave, when the mechanism reveals it.
    private(set) var login: [UInt8]?
    /// `login NUL password` for PLAIN and LOGIN; empty otherwise.
    private var material: [UInt8] = []
    /// How many non-nil responses were seen.
    private var responses = 0

    init(mechanism: String) {
        self.mechanism = mechanism
    }

    /// Looks at the next decoded client response, in order.
    mutating func observe(_ response: [UInt8]?) {
        guard let response else { return }
        responses += 1
        switch (mechanism, responses) {
        case ("PLAIN", 1):
            // authzid NUL authcid NUL password
            let parts = response.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return }
            login = Array(parts[1])
            material = Array(parts[1]) + [0] + Array(parts[2])
        case ("LOGIN", 1):
            login = response
            material = response
        case ("LOGIN", 2):
            material += [0] + response
        case ("CRAM-MD5", 1):
            // user SP digest
            if let space = response.lastIndex(of: SMTPSyntax.space) { login = Array(response[..<space]) }
        case ("DIGEST-MD5", 1):
            login = Self.digestUsername(response)
        case (let name, 1) where name.hasPrefix("SCRAM-"):
            login = Self.scramUsername(response)
        default:
            break
        }
    }

    /// The keyed fingerprint of name and password, for PLAIN and LOGIN once the password was sent.
    var fingerprint: [UInt8]? {
        let complete = mechanism == "PLAIN" ? responses >= 1 : mechanism == "LOGIN" && responses >= 2
        guard complete, !material.isEmpty else { return nil }
        return CredentialFingerprint.of(material)
    }

    /// Overwrites the password material; called when the attempt ends, whatever its result.
    mutating func erase() {
        material.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        material = []
    }

    /// `n=` of a SCRAM client-first message (`gs2-header n=user,r=nonce`), with `=2C` and `=3D` decoded.
    private static func scramUsername(_ message: [UInt8]) -> [UInt8]? {
        let comma = UInt8(ascii: ",")
        // The gs2-header is `flag "," [authzid] ","`: the bare message starts after the second comma.
        let fields = message.split(separator: comma, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { return nil }
        let name = fields[2]
        guard name.starts(with: Array("n=".utf8)) else { return nil }
        var user: [UInt8] = []
        var index = name.startIndex + 2
        while index < name.endIndex {
            if name[index] == UInt8(ascii: "="), index + 2 < name.endIndex {
                let code = Array(name[(index + 1)...(index + 2)])
                user.append(code == Array("2C".utf8) ? comma : UInt8(ascii: "="))
                index += 3
            } else {
                user.append(name[index])
                index += 1
            }
        }
        return user
    }

    /// `username=` of a DIGEST-MD5 digest-response, quoted or not.
    private static func digestUsername(_ message: [UInt8]) -> [UInt8]? {
        let key = Array("username=".utf8)
        var index = 0
        while index + key.count <= message.count {
            let atDirectiveStart =
                index == 0 || [UInt8(ascii: ","), SMTPSyntax.space, SMTPSyntax.tab].contains(message[index - 1])
            guard atDirectiveStart, SMTPSyntax.equalsIgnoringASCIICase(message[index..<(index + key.count)], key)
            else {
                index += 1
                continue
            }
            var position = index + key.count
            var value: [UInt8] = []
            if position < message.count, message[position] == UInt8(ascii: "\"") {
                position += 1
                while position < message.count, message[position] != UInt8(ascii: "\"") {
                    if message[position] == UInt8(ascii: "\\") { position += 1 }
                    if position < message.count { value.append(message[position]) }
                    position += 1
                }
            } else {
                while position < message.count, message[position] != UInt8(ascii: ",") {
                    value.append(message[position])
                    position += 1
                }
            }
            return value
        }
        return nil
    }
}
