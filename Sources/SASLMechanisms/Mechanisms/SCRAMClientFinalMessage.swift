import SASLDB

/// A parsed client-final-message.
struct SCRAMClientFinalMessage {
    /// The decoded `c=` value.
    var channelBinding: [UInt8]
    var nonce: [UInt8]
    var proof: [UInt8]
    /// client-final-message-without-proof, which enters the AuthMessage.
    var withoutProof: [UInt8]

    init(parsing message: [UInt8], proofLength: Int) throws(SASLFailure) {
        try SCRAMSyntax.checkEnvelope(message, what: "client-final")
        let fields = try SCRAMSyntax.attributes(of: message[...], what: "client-final")
        guard let binding = fields.first, binding.name == UInt8(ascii: "c") else {
            throw .malformed(reason: "SCRAM: the client-final message does not start with the channel binding c=")
        }
        guard fields.count > 1, fields[1].name == UInt8(ascii: "r") else {
            throw .malformed(reason: "SCRAM: the nonce r= does not follow the channel binding")
        }
        guard fields.count > 2, let proofField = fields.last, proofField.name == UInt8(ascii: "p") else {
            throw .malformed(reason: "SCRAM: the client-final message does not end with the proof p=")
        }
        try SCRAMSyntax.checkExtensions(fields[2..<(fields.count - 1)], what: "client-final")
        guard let binding = Base64.decode(bytes: binding.value) else {
            throw .malformed(reason: "SCRAM: the channel binding c= is not valid base64")
        }
        guard let proof = Base64.decode(bytes: proofField.value) else {
            throw .malformed(reason: "SCRAM: the proof p= is not valid base64")
        }
        guard proof.count == proofLength else {
            throw .malformed(reason: "SCRAM: the proof is \(proof.count) bytes long instead of \(proofLength)")
        }
        channelBinding = binding
        nonce = Array(fields[1].value)
        self.proof = proof
        // client-final-message-without-proof ends before the three bytes ",p=" that precede the proof's value.
        withoutProof = Array(message[..<(proofField.value.startIndex - 3)])
    }
}
