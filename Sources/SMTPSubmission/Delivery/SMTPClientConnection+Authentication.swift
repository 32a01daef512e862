import SASLClient
import SASLDB

extension SMTPClientConnection {
    /// One step of an `AUTH` exchange as a transcript may show it: decoded, with the password masked.
    package struct AuthenticationStep: Sendable {
        /// Sent by us (a response) rather than by the server (a challenge).
        package var sent: Bool
        /// The decoded bytes, the password replaced by `********`.
        package var shown: [UInt8]
        /// Whether the line on the wire holds the password (a transcript masks it).
        package var holdsPassword: Bool
    }

    /// Runs one `AUTH` exchange (RFC 4954) with `mechanism`, and returns the server's final reply (`235` on success).
    ///
    /// Responses are sent under a fixed step name, so no timeout or error message ever holds part of one.
    ///
    /// - Parameters:
    ///   - mechanism: a fresh client mechanism with the credentials.
    ///   - show: called with each step before it is sent or after it is received, for transcripts.
    /// - Throws: ``SMTPClientError/authenticationCancelled(_:)`` after cancelling with `*` when a challenge is not
    ///   base64 or the mechanism cannot answer it (a server proof that is wrong); the connection's errors otherwise.
    package func authenticate(
        with mechanism: any SASLClientMechanism,
        show: ((AuthenticationStep) -> Void)? = nil
    ) async throws -> SMTPClientReply {
        var client = mechanism
        var command = "AUTH " + client.name
        let initial: [UInt8]?
        do throws(SASLClientError) {
            initial = try client.initialResponse()
        } catch {
            throw SMTPClientError.authenticationCancelled("\(error)")
        }
        if let initial {
            let redacted = client.redacted(initial)
            show?(AuthenticationStep(sent: true, shown: redacted ?? initial, holdsPassword: redacted != nil))
            command += " " + (initial.isEmpty ? "=" : Base64.encode(initial))
        }
        var reply = try await self.command(command, step: "AUTH")
        while reply.code == 334 {
            guard let challenge = Base64.decode(reply.lines.first ?? "") else {
                try await cancelAuthentication()
                throw SMTPClientError.authenticationCancelled("the server's challenge is not base64")
            }
            show?(AuthenticationStep(sent: false, shown: challenge, holdsPassword: false))
            let response: [UInt8]
            do throws(SASLClientError) {
                response = try client.respond(to: challenge)
            } catch {
                // A challenge the client cannot answer, or a server that proved it does not know the password: the
                // exchange is cancelled (RFC 4954), not answered.
                try await cancelAuthentication()
                throw SMTPClientError.authenticationCancelled("\(error)")
            }
            let redacted = client.redacted(response)
            show?(AuthenticationStep(sent: true, shown: redacted ?? response, holdsPassword: redacted != nil))
            reply = try await self.command(Base64.encode(response), step: "an AUTH response")
        }
        return reply
    }

    private func cancelAuthentication() async throws {
        try await send("*")
        _ = try await readReply()
    }
}
