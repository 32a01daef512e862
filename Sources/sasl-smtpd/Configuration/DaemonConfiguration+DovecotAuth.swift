import AuthService
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

extension DaemonConfiguration {
    /// The keys of the Dovecot authentication socket, in the order of `sasl-smtpd(8)`.
    static let dovecotAuthKeys: [ConfigurationKey] = [
        path("dovecot_auth_socket", \.dovecotAuth.socket, emptyMeans: "no socket", needsRestart: true),
        text("dovecot_auth_owner", \.dovecotAuth.owner, nonEmpty: false, needsRestart: true),
        text("dovecot_auth_group", \.dovecotAuth.group, nonEmpty: false, needsRestart: true),
        ConfigurationKey(
            name: "dovecot_auth_mode",
            needsRestart: true,
            apply: { configuration, value throws(ConfigurationError) in
                guard value.count <= 4, let mode = UInt16(value, radix: 8), mode <= 0o777 else {
                    throw ConfigurationError("expected permission bits in octal, such as 0660")
                }
                guard mode & 0o007 == 0 else {
                    throw ConfigurationError("others may not connect: a connection can test passwords (use 0660)")
                }
                configuration.dovecotAuth.mode = value
            },
            render: { $0.dovecotAuth.mode }
        ),
        ConfigurationKey(
            name: "dovecot_auth_listen",
            needsRestart: true,
            apply: { configuration, value throws(ConfigurationError) in
                let addresses = try ListenAddress.parseList(value)
                // The protocol carries passwords in the clear: never off this machine.
                for address in addresses where !isLoopbackHost(address.host) {
                    throw ConfigurationError("\(address) is not a loopback address: the protocol is in the clear")
                }
                configuration.dovecotAuth.listen = addresses
            },
            render: { $0.dovecotAuth.listen.map(\.description).joined(separator: ", ") }
        ),
        mechanisms("dovecot_auth_mechanisms", \.dovecotAuth.mechanisms),
        mechanisms("dovecot_auth_mechanisms_without_tls", \.dovecotAuth.mechanismsWithoutTLS),
        ConfigurationKey(
            name: "dovecot_auth_service_mechanisms",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                configuration.dovecotAuth.serviceMechanisms = try parseServiceMechanisms(value)
            },
            render: { configuration in
                configuration.dovecotAuth.serviceMechanisms.sorted { $0.key < $1.key }
                    .map { "\($0.key): \($0.value.joined(separator: " "))" }.joined(separator: "; ")
            }
        ),
        number("dovecot_auth_request_timeout", \.dovecotAuth.requestTimeout, 10...3600),
        number("dovecot_auth_failure_delay", \.dovecotAuth.failureDelay, 0...5),
    ]

    /// `service: MECH MECH; service: MECH` into lists by service.
    private static func parseServiceMechanisms(_ value: String) throws(ConfigurationError) -> [String: [String]] {
        var lists: [String: [String]] = [:]
        for item in value.split(separator: ";") where !item.allSatisfy(\.isWhitespace) {
            let parts = item.split(separator: ":", maxSplits: 1)
            let service = parts[0].trimmingBlanks
            guard parts.count == 2, !service.isEmpty, !service.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw ConfigurationError("expected service: MECHANISM ...; service: MECHANISM ...")
            }
            let names = words(String(parts[1])).map { $0.uppercased() }
            for name in names where !knownMechanisms.contains(name) {
                throw ConfigurationError("unknown mechanism \(name) for \(service)")
            }
            lists[service] = names
        }
        return lists
    }

    /// The mechanism lists by service, the daemon's lists where the Dovecot keys leave them empty.
    var dovecotMechanismPolicy: DovecotMechanismPolicy {
        let withoutTLS = Set(
            dovecotAuth.mechanismsWithoutTLS.isEmpty ? mechanismsWithoutTLS : dovecotAuth.mechanismsWithoutTLS
        )
        let standard = dovecotAuth.mechanisms.isEmpty ? mechanisms : dovecotAuth.mechanisms
        return DovecotMechanismPolicy(
            standard: MechanismPolicy(enabled: standard, allowedWithoutTLS: withoutTLS),
            services: dovecotAuth.serviceMechanisms.mapValues {
                MechanismPolicy(enabled: $0, allowedWithoutTLS: withoutTLS)
            }
        )
    }

    /// What every Dovecot auth connection shares: the store from the one factory, read at each request.
    var dovecotConnectionConfiguration: DovecotAuthConnection.Configuration {
        let context = SASLServerContext(
            lookup: StoreFactory.makeStore(store),
            hostName: hostname,
            defaultRealm: effectiveRealm
        )
        return DovecotAuthConnection.Configuration(
            context: context,
            mechanisms: dovecotMechanismPolicy,
            scramIterations: scramIterations,
            digestHosts: digestMD5Hosts.contains("*") ? .any : .hostName(alsoAccepting: digestMD5Hosts),
            requestTimeout: .seconds(Int64(dovecotAuth.requestTimeout))
        )
    }

    /// The Dovecot auth server's configuration, with the socket's owner and group looked up.
    ///
    /// - Throws: ``ConfigurationError`` for an owner or group that does not exist.
    func dovecotServerConfiguration() throws(ConfigurationError) -> DovecotAuthServerConfiguration {
        var socket: DovecotAuthServerConfiguration.LocalSocket?
        if !dovecotAuth.socket.isEmpty {
            socket = DovecotAuthServerConfiguration.LocalSocket(
                path: dovecotAuth.socket,
                owner: try Self.userID(dovecotAuth.owner),
                group: try Self.groupID(dovecotAuth.group),
                mode: UInt16(dovecotAuth.mode, radix: 8) ?? 0o660
            )
        }
        let delay = TimeAmount.seconds(Int64(dovecotAuth.failureDelay))
        return DovecotAuthServerConfiguration(
            localSocket: socket,
            tcpListeners: dovecotAuth.listen.map { .init(host: $0.host, port: $0.port) },
            connection: dovecotConnectionConfiguration,
            failureDelay: delay,
            maximumFailureDelay: max(delay, .seconds(5)),
            maximumConnections: maxConnections,
            drainTimeout: .seconds(Int64(min(drainTimeout, 8)))
        )
    }

    private static func userID(_ name: String) throws(ConfigurationError) -> UInt32? {
        guard !name.isEmpty else { return nil }
        guard let entry = getpwnam(name) ?? uid_t(name).flatMap({ getpwuid($0) }) else {
            throw ConfigurationError("dovecot_auth_owner: user \(name) does not exist")
        }
        return entry.pointee.pw_uid
    }

    private static func groupID(_ name: String) throws(ConfigurationError) -> UInt32? {
        guard !name.isEmpty else { return nil }
        guard let entry = getgrnam(name) ?? gid_t(name).flatMap({ getgrgid($0) }) else {
            throw ConfigurationError("dovecot_auth_group: group \(name) does not exist")
        }
        return entry.pointee.gr_gid
    }
}

extension Substring {
    /// Without leading and trailing blanks.
    fileprivate var trimmingBlanks: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
