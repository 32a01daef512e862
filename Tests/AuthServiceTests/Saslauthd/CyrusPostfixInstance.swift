import Foundation
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A private Postfix (Debian's package) whose one `smtpd`, on a loopback port of its own, offers AUTH through Cyrus
/// SASL with `pwcheck_method: saslauthd` pointed at a given socket: Postfix as sites run it with saslauthd.
///
/// Everything lives in one temporary directory: `main.cf` and `master.cf` (`postfix -c`), the queue, the data
/// directory, the SASL configuration (`etc/sasl/smtpd.conf`) and `maillog_file`. No chroot, no delivery: the test
/// only authenticates. ``stop()`` stops it and removes the directory.
final class CyrusPostfixInstance: Sendable {
    let directory: String
    /// The port of the `smtpd` on 127.0.0.1.
    let port: Int

    private var configDirectory: String { directory + "/etc" }
    private var logFile: String { directory + "/maillog" }

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Skips the test when Postfix is missing or the test does not run as root; in CI (`CI=true`) fails it instead.
    static func requirePostfix() throws {
        var missing = ["postfix"].filter { ProcessRunner.which($0) == nil }.map { "\($0) is not installed" }
        if geteuid() != 0 { missing.append("starting a Postfix instance needs root") }
        guard let reason = missing.first else { return }
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("\(reason): .ci/run must provide it") }
        throw XCTSkip(reason)
    }

    /// Writes the configuration and starts Postfix; `register` gets the instance before anything can fail, to
    /// schedule its ``stop()``.
    static func start(
        saslauthdSocket: String,
        certificate: TestCertificate.Files,
        register: (CyrusPostfixInstance) -> Void
    ) throws -> CyrusPostfixInstance {
        try requirePostfix()
        var template = Array("/tmp/sasldb-cyrus-postfix-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: errno \(errno)") }
        let instance = CyrusPostfixInstance(directory: String(cString: created), port: try freePort())
        register(instance)
        try instance.write(saslauthdSocket: saslauthdSocket, certificate: certificate)
        try instance.postfix("start")
        try instance.waitUntilListening()
        return instance
    }

    private func write(saslauthdSocket: String, certificate: TestCertificate.Files) throws {
        // The daemons run as the postfix user and reach their directories through this one.
        guard chmod(directory, 0o755) == 0 else { throw TestSupportError("chmod \(directory): errno \(errno)") }
        // Debian's Postfix reads `smtpd.conf` from `<config_directory>/sasl`, whatever cyrus_sasl_config_path says.
        for sub in ["etc", "etc/sasl", "queue"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        let mainCF = """
            compatibility_level = 3.6
            queue_directory = \(directory)/queue
            data_directory = \(directory)/data
            maillog_file = \(logFile)
            maillog_file_prefixes = \(directory)
            myhostname = mail.example.org
            mydestination =
            alias_maps =
            alias_database =
            inet_interfaces = loopback-only
            inet_protocols = ipv4
            mynetworks =
            smtpd_peername_lookup = no
            smtpd_tls_security_level = may
            smtpd_tls_cert_file = \(certificate.certificatePath)
            smtpd_tls_key_file = \(certificate.keyPath)
            smtpd_tls_auth_only = yes
            smtpd_sasl_auth_enable = yes
            smtpd_sasl_type = cyrus
            smtpd_sasl_path = smtpd
            cyrus_sasl_config_path = \(configDirectory)/sasl
            smtpd_relay_restrictions = permit_sasl_authenticated, reject

            """
        // Only what an AUTH needs: the smtpd, the connection counter and the map and address services it asks.
        let masterCF = """
            127.0.0.1:\(port) inet n - n - - smtpd
            anvil     unix  -       -       n       -       1       anvil
            proxymap  unix  -       -       n       -       -       proxymap
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            tlsmgr    unix  -       -       n       1000?   1       tlsmgr
            postlog   unix-dgram n  -       n       -       1       postlogd

            """
        let sasl = """
            pwcheck_method: saslauthd
            saslauthd_path: \(saslauthdSocket)
            mech_list: PLAIN LOGIN

            """
        try Data(mainCF.utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/main.cf"))
        try Data(masterCF.utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/master.cf"))
        try Data(sasl.utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/sasl/smtpd.conf"))
        chmod("\(configDirectory)/sasl", 0o755)
        chmod("\(configDirectory)/sasl/smtpd.conf", 0o644)
    }

    private func postfix(_ command: String) throws {
        guard let postfix = ProcessRunner.which("postfix") else { throw TestSupportError("postfix is not installed") }
        let result = ProcessRunner.run(postfix, ["-c", configDirectory, command], timeout: 60)
        guard result.status == 0 else {
            throw TestSupportError(
                "postfix \(command) failed: \(result.standardOutput)\(result.standardError)\n\(log())"
            )
        }
    }

    /// A port that was free a moment ago on 127.0.0.1 (Postfix cannot bind port 0).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func waitUntilListening() throws {
        let end = Date().addingTimeInterval(20)
        while Date() < end {
            if log().contains("fatal:") { throw TestSupportError("Postfix did not start; log:\n\(log())") }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if connected { return }
            usleep(100_000)
        }
        throw TestSupportError("Postfix did not listen on 127.0.0.1:\(port) within 20 s; log:\n\(log())")
    }

    /// Postfix's log so far.
    func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Stops Postfix and removes the directory.
    func stop() {
        if let postfix = ProcessRunner.which("postfix") {
            _ = ProcessRunner.run(postfix, ["-c", configDirectory, "stop"], timeout: 30)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
