import NIOCore
import NIOSSL
import SASLClient
import SASLDB
import SASLMechanisms
import SMTPSubmission
import ServerKit

extension DaemonConfiguration {
    /// The listeners, in the order submission, implicit TLS, plain.
    var listeners: [SMTPServerConfiguration.Listener] {
        submissionListen.map { listener($0, .submission) } + smtpsListen.map { listener($0, .implicitTLS) }
            + plainListen.map { listener($0, .plain) }
    }

    /// Whether any listener needs the certificate.
    var needsTLS: Bool { !submissionListen.isEmpty || !smtpsListen.isEmpty || !poppassdTLSListen.isEmpty }

    /// The server's configuration, with TLS material already read.
    func serverConfiguration(tls: ServerTLSConfiguration?) -> SMTPServerConfiguration {
        SMTPServerConfiguration(
            listeners: listeners,
            tls: tls,
            maximumConnections: maxConnections,
            maximumConnectionsPerAddress: maxConnectionsPerAddress,
            drainTimeout: .seconds(Int64(drainTimeout)),
            authFailurePolicy: authFailurePolicy,
            messageMemoryLimit: messageMemoryLimit
        )
    }

    /// How failures slow a client down, in the SMTP server and the password service alike: clients grouped by the
    /// networks `auth_failure_ipv4_prefix` and `auth_failure_ipv6_prefix` name.
    var authFailurePolicy: AuthFailurePolicy {
        AuthFailurePolicy(ipv4PrefixLength: authFailureIPv4Prefix, ipv6PrefixLength: authFailureIPv6Prefix)
    }

    /// The TLS configuration from certificate and key bytes read by the daemon.
    func tlsConfiguration(certificateChain: [UInt8], privateKey: [UInt8]) -> ServerTLSConfiguration {
        ServerTLSConfiguration(
            source: .pem(certificateChain: certificateChain, privateKey: privateKey),
            minimumVersion: tlsMinimumVersion == "1.3" ? .tlsv13 : .tlsv12,
            cipherSuites: tlsCiphers
        )
    }

    /// What every session uses; the store is read at each AUTH, never held open, and its secret policy decides the
    /// stand-in secrets an unknown name is checked against. `passwordSource` is the PAM source made once at startup
    /// (``makePAMSource()``), so that a reload keeps its thread bound.
    func sessionConfiguration(
        loginMap: SenderLoginMap,
        passwordSource: (any PasswordSource)?
    ) -> SMTPSessionConfiguration {
        let store = StoreFactory.makeStore(store)
        let context = SASLServerContext(
            lookup: store,
            hostName: hostname,
            defaultRealm: effectiveRealm,
            passwordSource: passwordSource
        )
        var limits = SMTPLimits()
        limits.messageSize = messageSizeLimit
        limits.recipientsPerMessage = recipientLimit
        limits.messagesPerConnection = messagesPerConnection
        limits.commandTimeout = .seconds(commandTimeout)
        limits.failedAuthPerConnection = authFailureLimit
        limits.errorsPerConnection = errorLimit
        return SMTPSessionConfiguration(
            hostName: hostname,
            saslContext: context,
            mechanisms: MechanismPolicy(enabled: mechanisms, allowedWithoutTLS: Set(mechanismsWithoutTLS)),
            scramIterations: scramIterations,
            digestHosts: digestMD5Hosts.contains("*") ? .any : .hostName(alsoAccepting: digestMD5Hosts),
            limits: limits,
            requiresTLS: requireTLS,
            offersChunking: chunking,
            senderPolicy: SenderPolicy(
                allowsOwnAddress: true,
                allowsNullSender: allowNullSender,
                allowsAnySender: allowAnySender,
                loginMap: loginMap
            ),
            receivedHeader: SMTPReceivedHeaderOptions(
                isEnabled: receivedHeader,
                includesClientAddress: receivedHeaderClientAddress
            ),
            clock: { SystemInfo.now() }
        )
    }

    /// Reads `sender_login_map` (an empty map when unset).
    func loadSenderLoginMap() throws(ConfigurationError) -> SenderLoginMap {
        guard !senderLoginMap.isEmpty else { return SenderLoginMap() }
        let text = try ConfigurationFile.read(senderLoginMap)
        do throws(SenderLoginMapError) {
            return try SenderLoginMap(parsing: text, defaultRealm: effectiveRealm)
        } catch {
            throw ConfigurationError("\(senderLoginMap): \(error)")
        }
    }

    /// The sink for `sink`; a relay gets `relayTLS` and `relayCredentials` (from ``loadRelaySecurity(secretOwners:)``).
    func makeSink(relayTLS: SMTPClientTLS? = nil, relayCredentials: SASLClientCredentials? = nil) -> any MessageSink {
        sink.makeSink(timeout: .seconds(sinkTimeout), heloName: hostname, tls: relayTLS, credentials: relayCredentials)
    }
}
