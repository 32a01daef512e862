import SASLDB

/// A parsed client-first-message.
struct SCRAMClientFirstMessage {
    var flag: SCRAMChannelBindingFlag
    var authorizationID: [UInt8]
    /// The GS2 header exactly as sent, up to and including its second comma.
    var gs2Header: [UInt8]
    var username: [UInt8]
    var clientNonce: [UInt8]
    /// client-first-message-bare, which enters the AuthMessage.
    var bare: [UInt8]

    init(parsing message: [UInt8]) throws(SASLFailure) {
        try SCRAMSyntax.checkEnvelope(message, what: "client-first")
        guard let flagByte = message.first else { throw .malformed(reason: "SCRAM: the client-first message is empty") }
        var index = message.startIndex
        switch flagByte {
        case UInt8(ascii: "n"):
            flag = .unsupported
            index += 1
        case UInt8(ascii: "y"):
            flag = .supportedButNotOffered
            index += 1
        case UInt8(ascii: "p"):
            guard message.count > 1, message[1] == SCRAMSyntax.equals,
                let end = message[2...].firstIndex(of: SCRAMSyntax.comma)
            else { throw .malformed(reason: "SCRAM: the GS2 header's p= flag is not followed by a name and a comma") }
            let name = message[2..<end]
            guard !name.isEmpty, name.allSatisfy(Self.isChannelBindingNameCharacter) else {
                throw .malformed(reason: "SCRAM: the channel binding name after p= is empty or has bad characters")
            }
            flag = .required(String(decoding: name, as: UTF8.self))
            index = end
        default:
            throw .malformed(reason: "SCRAM: the GS2 header does not start with n, y or p=")
        }
        guard index < message.endIndex, message[index] == SCRAMSyntax.comma else {
            throw .malformed(reason: "SCRAM: the GS2 channel-binding flag is not followed by a comma")
        }
        index += 1
        guard let headerEnd = message[index...].firstIndex(of: SCRAMSyntax.comma) else {
            throw .malformed(reason: "SCRAM: the GS2 header does not end with a comma")
        }
        let authorizationField = message[index..<headerEnd]
        if authorizationField.isEmpty {
            authorizationID = []
        } else {
            guard authorizationField.starts(with: "a=".utf8), authorizationField.count > 2 else {
                throw .malformed(reason: "SCRAM: the GS2 header's second field is neither empty nor a=authzid")
            }
            authorizationID = try SCRAMSyntax.decodeSASLName(
                authorizationField.dropFirst(2),
                what: "authorization identity"
            )
        }
        gs2Header = Array(message[...headerEnd])

        let bareText = message[(headerEnd + 1)...]
        bare = Array(bareText)
        let fields = try SCRAMSyntax.attributes(of: bareText, what: "client-first")
        if fields.first?.name == UInt8(ascii: "m") {
            // RFC 5802 §5.1: a server that does not understand a mandatory extension must fail.
            throw .malformed(reason: "SCRAM: the client requires a mandatory extension (m=), which is not supported")
        }
        guard let user = fields.first, user.name == UInt8(ascii: "n") else {
            throw .malformed(reason: "SCRAM: the client-first message does not start with the user name n=")
        }
        guard fields.count > 1, fields[1].name == UInt8(ascii: "r") else {
            throw .malformed(reason: "SCRAM: the client nonce r= does not follow the user name")
        }
        try SCRAMSyntax.checkExtensions(fields[2...], what: "client-first")
        username = try SCRAMSyntax.decodeSASLName(user.value, what: "user name")
        guard fields[1].value.allSatisfy(SCRAMSyntax.isPrintable) else {
            throw .malformed(reason: "SCRAM: the client nonce has characters outside printable ASCII")
        }
        clientNonce = Array(fields[1].value)
    }

    /// cb-name = 1*(ALPHA / DIGIT / "." / "-").
    private static func isChannelBindingNameCharacter(_ byte: UInt8) -> Bool {
        SCRAMSyntax.isASCIILetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }
}
