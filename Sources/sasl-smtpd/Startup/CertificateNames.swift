import NIOSSL
import ServerKit

/// What the certificate says about itself: the names it is valid for and when it expires.
struct CertificateNames {
    /// `subjectAltName` DNS names, lowercased.
    var dnsNames: [String]
    /// `subjectAltName` IP addresses.
    var ipAddresses: [String]
    /// The subject's common name, used when there are no DNS names (as old clients do).
    var commonName: String?
    /// `notAfter`, seconds since 1970.
    var notValidAfter: Int

    /// Reads the leaf (first) certificate of a PEM chain.
    init(pem: [UInt8]) throws(ConfigurationError) {
        let leaf: NIOSSLCertificate
        do {
            guard let first = try NIOSSLCertificate.fromPEMBytes(pem).first else {
                throw ConfigurationError("the certificate file holds no certificate")
            }
            leaf = first
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("the certificate file cannot be parsed: \(error)")
        }
        var dns: [String] = []
        var addresses: [String] = []
        for name in leaf._subjectAlternativeNames() {
            switch name.nameType {
            case .dnsName: dns.append(String(decoding: name.contents, as: UTF8.self).lowercased())
            case .ipAddress: addresses.append(Self.addressText(Array(name.contents)))
            default: break
            }
        }
        dnsNames = dns
        ipAddresses = addresses
        commonName = leaf.subjectName.last { $0.type == .commonName }?.value.lowercased()
        notValidAfter = Int(leaf.notValidAfter)
    }

    /// Whether `hostname` is one of the names (a `*.` wildcard covers one label), as a client checks it.
    func names(_ hostname: String) -> Bool {
        CertificateHostName.matches(hostname, dnsNames: dnsNames, commonName: commonName)
    }

    /// `127.0.0.1` or `2001:db8:0:0:0:0:0:1` from the bytes of an address.
    static func addressText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return "?" }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    /// The names for a warning: `DNS:a, DNS:b, IP:127.0.0.1` or `CN=name`.
    var summary: String {
        let names = dnsNames.map { "DNS:" + $0 } + ipAddresses.map { "IP:" + $0 }
        if !names.isEmpty { return names.joined(separator: ", ") }
        return commonName.map { "CN=" + $0 } ?? "no name"
    }
}
