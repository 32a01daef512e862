import NIOSSL

/// Whether a certificate names a host, by name only, as RFC 6125 asks a client to check it: its `subjectAltName` DNS
/// names (a `*.` wildcard covers exactly one left-most label), or its subject's common name when it has none.
///
/// NIOSSL also accepts a certificate whose IP address entry matches the address connected to, even when a name was
/// asked for: whoever can point the name at an address of theirs (a DNS answer) and holds a certificate for that
/// address would pass. A client that knows the name checks it with this as well.
package enum CertificateHostName {
    /// Whether `certificate` names `host` (compared without case; a trailing dot ignored).
    package static func matches(_ host: String, certificate: NIOSSLCertificate) -> Bool {
        var dnsNames: [String] = []
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            dnsNames.append(String(decoding: name.contents, as: UTF8.self))
        }
        let commonName = certificate.subjectName.last { $0.type == .commonName }?.value
        return matches(host, dnsNames: dnsNames, commonName: commonName)
    }

    /// Whether `host` is among `dnsNames`, or is `commonName` when there are none.
    package static func matches(_ host: String, dnsNames: [String], commonName: String?) -> Bool {
        let host = host.hasSuffix(".") ? String(host.dropLast()).lowercased() : host.lowercased()
        let candidates = dnsNames.isEmpty ? commonName.map { [$0] } ?? [] : dnsNames
        return candidates.contains { candidate in
            let name = candidate.lowercased()
            if name == host { return true }
            guard name.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
            return host[dot...] == name.dropFirst() && host[..<dot].count > 0
        }
    }
}
