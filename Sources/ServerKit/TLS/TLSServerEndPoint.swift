import SASLDB

/// The `tls-server-end-point` channel binding (RFC 5929 §4.1): the hash of the server's certificate, computed with the
/// hash of the certificate's signature algorithm, SHA-256 when that is MD5 or SHA-1.
package enum TLSServerEndPoint {
    /// The binding data for a DER certificate, or `nil` when its signature algorithm is not one with a single hash
    /// (Ed25519, RSA-PSS) or the DER cannot be read.
    package static func bindingData(forCertificate der: [UInt8]) -> [UInt8]? {
        guard let algorithm = signatureHash(ofCertificate: der) else { return nil }
        return digest(algorithm, der)
    }

    /// The hash the binding uses for this certificate (already upgraded from MD5 / SHA-1 to SHA-256).
    package static func signatureHash(ofCertificate der: [UInt8]) -> HashAlgorithm? {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, ... }, ... }
        var reader = DERReader(der[...])
        guard var certificate = reader.read(tag: 0x30),
            certificate.read(tag: 0x30) != nil,
            var algorithm = certificate.read(tag: 0x30),
            let oid = algorithm.read(tag: 0x06)
        else { return nil }
        switch Array(oid.bytes) {
        case rsa(4), rsa(5), ecdsaSHA1: return .sha256
        case rsa(14), ecdsa(1): return .sha224
        case rsa(11), ecdsa(2): return .sha256
        case rsa(12), ecdsa(3): return .sha384
        case rsa(13), ecdsa(4): return .sha512
        default: return nil
        }
    }

    /// `1.2.840.113549.1.1.n` (md5/sha*WithRSAEncryption).
    private static func rsa(_ last: UInt8) -> [UInt8] { [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, last] }
    /// `1.2.840.10045.4.3.n` (ecdsa-with-SHA224 … SHA512).
    private static func ecdsa(_ last: UInt8) -> [UInt8] { [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, last] }
    /// `1.2.840.10045.4.1` (ecdsa-with-SHA1).
    private static let ecdsaSHA1: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01]
}

/// Just enough DER to walk to a certificate's signature algorithm: definite lengths, single-byte tags.
private struct DERReader {
    var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// Reads one element with `tag` and returns a reader over its contents, or `nil` when the next element differs or
    /// is malformed.
    mutating func read(tag: UInt8) -> DERReader? {
        guard let first = bytes.first, first == tag else { return nil }
        var rest = bytes.dropFirst()
        guard let lengthByte = rest.popFirst() else { return nil }
        var length = 0
        if lengthByte < 0x80 {
            length = Int(lengthByte)
        } else {
            let count = Int(lengthByte & 0x7F)
            guard count >= 1, count <= 4, rest.count >= count else { return nil }
            for _ in 0..<count {
                guard let byte = rest.popFirst() else { return nil }
                length = length << 8 | Int(byte)
            }
        }
        guard rest.count >= length else { return nil }
        let contents = rest.prefix(length)
        bytes = rest.dropFirst(length)
        return DERReader(contents)
    }
}
