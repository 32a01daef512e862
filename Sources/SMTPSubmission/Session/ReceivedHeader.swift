/// Builds the `Received:` trace header (RFC 5321 section 4.4) the server prepends to each message:
///
/// ```
/// Received: from client.example ([192.0.2.1])
/// 	(Authenticated sender: alice@example.org)
/// 	by mail.example.org with ESMTPSA id 5F3K9QZ2P7M1-1
/// 	for <bob@example.net>; Fri, 24 May 2002 11:44:42 -0400
/// ```
///
/// Every value in it was validated before (the EHLO name by the parser, the recipient as a path) or is cleaned
/// here (the client address, the user name), so a client cannot inject header lines.
struct ReceivedHeader {
    var helloName: String
    var clientAddress: String
    var hostName: String
    var software: String?
    var authenticatedUser: String?
    /// `ESMTPSA` and friends (RFC 3848, RFC 6531 section 3.7.3).
    var protocolName: String
    var id: String
    var recipient: SMTPForwardPath?
    var date: SMTPTimestamp
    var includesClientAddress: Bool

    /// The protocol keyword: `ESMTP` or `UTF8SMTP`, then `S` with TLS, then `A` when authenticated.
    static func protocolName(smtpUTF8: Bool, tls: Bool, authenticated: Bool) -> String {
        (smtpUTF8 ? "UTF8SMTP" : "ESMTP") + (tls ? "S" : "") + (authenticated ? "A" : "")
    }

    /// The header with its CRLF, folded with tabs.
    var bytes: [UInt8] {
        var from = "Received: from \(helloName)"
        if includesClientAddress { from += " (\(Self.addressLiteral(clientAddress) ?? "unknown"))" }
        var lines = [from]
        if let authenticatedUser { lines.append("\t(Authenticated sender: \(Self.comment(authenticatedUser)))") }
        var by = "\tby \(hostName)"
        if let software { by += " (\(Self.comment(software)))" }
        by += " with \(protocolName) id \(id)"
        lines.append(by)
        if let recipient {
            lines.append("\tfor <\(recipient)>; \(date.rfc5322)")
        } else {
            lines[lines.count - 1] += ";"
            lines.append("\t\(date.rfc5322)")
        }
        return Array(lines.joined(separator: "\r\n").utf8) + [SMTPSyntax.carriageReturn, SMTPSyntax.lineFeed]
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]`, or `nil` when the driver's text is neither address.
    static func addressLiteral(_ address: String) -> String? {
        let bytes = Array(address.utf8)
        if AddressLiteralSyntax.isIPv4(bytes) { return "[\(address)]" }
        if AddressLiteralSyntax.isIPv6(bytes) { return "[IPv6:\(address)]" }
        return nil
    }

    /// Text safe inside a header comment: printable ASCII without parentheses or backslash.
    static func comment(_ text: String) -> String {
        String(
            decoding: text.utf8.map { byte in
                (32...126).contains(byte) && byte != UInt8(ascii: "(") && byte != UInt8(ascii: ")")
                    && byte != UInt8(ascii: "\\") ? byte : UInt8(ascii: "?")
            },
            as: UTF8.self
        )
    }
}
