import SASLClient
import SMTPSubmission

/// Where accepted messages go, as the `sink` key writes it.
enum SinkSpecification: Equatable, Sendable, CustomStringConvertible {
    /// `maildir:/var/spool/sasl-smtpd/Maildir`.
    case maildir(directory: String)
    /// `sendmail:/usr/sbin/sendmail` (or `sendmail` alone for that path).
    case sendmail(path: String)
    /// `smtp:127.0.0.1:10025`.
    case smtp(host: String, port: Int)
    /// `lmtp:127.0.0.1:24`.
    case lmtp(host: String, port: Int)

    /// Parses the `sink` value.
    init(parsing text: String) throws(ConfigurationError) {
        let kind = text.prefix { $0 != ":" }.lowercased()
        let rest = text.drop { $0 != ":" }.dropFirst()
        switch kind {
        case "maildir":
            guard rest.hasPrefix("/") else { throw ConfigurationError("\(text): expected maildir:/absolute/path") }
            self = .maildir(directory: String(rest))
        case "sendmail":
            let path = rest.isEmpty ? "/usr/sbin/sendmail" : String(rest)
            guard path.hasPrefix("/") else { throw ConfigurationError("\(text): expected sendmail:/absolute/path") }
            self = .sendmail(path: path)
        case "smtp", "lmtp":
            guard let address = try? ListenAddress(parsing: String(rest)), address.port > 0 else {
                throw ConfigurationError("\(text): expected \(kind):HOST:PORT (an IPv6 address in brackets)")
            }
            self =
                kind == "smtp"
                ? .smtp(host: address.host, port: address.port) : .lmtp(host: address.host, port: address.port)
        default:
            throw ConfigurationError("\(text): expected maildir:DIR, sendmail:PATH, smtp:HOST:PORT or lmtp:HOST:PORT")
        }
    }

    var description: String {
        switch self {
        case .maildir(let directory): return "maildir:" + directory
        case .sendmail(let path): return "sendmail:" + path
        case .smtp(let host, let port): return "smtp:" + ListenAddress(host: host, port: port).description
        case .lmtp(let host, let port): return "lmtp:" + ListenAddress(host: host, port: port).description
        }
    }

    /// Whether this is `lmtp:`.
    private var isLMTP: Bool {
        if case .lmtp = self { return true }
        return false
    }

    /// The sink itself; a relay starts TLS with `tls` (plain without) and authenticates with `credentials`.
    func makeSink(
        timeout: Duration,
        heloName: String,
        tls: SMTPClientTLS? = nil,
        credentials: SASLClientCredentials? = nil
    ) -> any MessageSink {
        switch self {
        case .maildir(let directory):
            return MaildirSink(directory: directory)
        case .sendmail(let path):
            return SendmailSink(path: path, timeout: timeout)
        case .smtp(let host, let port), .lmtp(let host, let port):
            return RelaySink(
                host: host,
                port: port,
                lmtp: isLMTP,
                heloName: heloName,
                commandTimeout: timeout,
                tls: tls,
                credentials: credentials
            )
        }
    }
}
