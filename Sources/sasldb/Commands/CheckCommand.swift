import ArgumentParser
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// `sasldb check`: an audit an administrator can run from cron.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Audit a sasldb: format, owner and permissions, users who cannot log in, stray secrets.",
        discussion: """
            Prints one line per finding, `problem:` or `warning:`, and a summary. Exits 0 when there is no problem, \
            1 when there is one (with --strict also for warnings).
            """
    )

    @OptionGroup var store: StoreOptions

    @Flag(help: "Report plaintext passwords as problems (the site wants no plaintext on disk).")
    var noPlaintext = false

    @Flag(help: "Exit 1 on warnings too.")
    var strict = false

    func run() throws {
        var report = CheckReport()
        try reportingErrors {
            for line in store.configuration.report(hostName: Host.defaultRealm) { report.note("store: \(line)") }
            let opened = store.backend()
            guard let backend = opened as? FileBackend else {
                // A database store: its records are audited; the server guards its own files.
                auditRecords(try opened.records(), into: &report)
                return
            }
            var status = stat()
            guard lstat(store.path, &status) == 0 else { throw SASLDBError.fileNotFound(path: store.path) }
            guard let format = try backend.existingFormat() else {
                report.warning("the file is empty: it holds no users")
                return
            }
            if format != DatabaseFormat.systemDefault {
                report.warning("this system's Cyrus reads \(DatabaseFormat.systemDefault) files, not \(format)")
            }
            report.note("format: \(format)")
            try auditFile(&report)
            do {
                auditRecords(try backend.records(), into: &report)
            } catch let error as SASLDBError {
                guard case .malformedKey = error else { throw error }
                report.problem("\(error.description); Cyrus's sasldblistusers2 loops forever on such a record")
            }
        }
        report.print()
        if report.problems > 0 || (strict && report.warnings > 0) { throw ExitCode(1) }
    }

    private func auditFile(_ report: inout CheckReport) throws {
        var status = stat()
        guard lstat(store.path, &status) == 0 else {
            throw SASLDBError.io(path: store.path, operation: "stat", errno: errno)
        }
        let mode = status.st_mode & 0o7777
        report.note(
            "owner: \(Host.userName(status.st_uid)):\(Host.groupName(status.st_gid)), mode \(String(mode, radix: 8))"
        )
        if mode & 0o004 != 0 {
            report.problem("other users can read the secrets; fix with: chmod o-r \(store.path)")
        }
        if mode & 0o111 != 0 { report.warning("the file is executable; fix with: chmod a-x \(store.path)") }
        if status.st_nlink > 1 {
            report.problem("the file has \(status.st_nlink) hard links: writes are refused until it has one")
        }
    }

    private func auditRecords(_ records: [Record], into report: inout CheckReport) {
        var byUser: [UserID: [Property: [UInt8]]] = [:]
        for record in records {
            byUser[record.key.user, default: [:]][Property(bytes: record.key.property)] = record.value
        }
        let disabledPrefix = Array(CredentialStore.disabledPrefix.utf8)
        for (user, properties) in byUser.sorted(by: { $0.key < $1.key }) {
            let parsed = UserSecrets(user: user, values: properties)
            let disabled = properties.keys.contains { $0.bytes.starts(with: disabledPrefix) }
            let otherLogin = properties.keys.contains { $0 == .otp || $0 == .srp }
            if parsed.isEmpty && !otherLogin {
                if disabled {
                    report.note("\(user): disabled")
                } else {
                    report.problem("\(user): no usable secret, so this user cannot log in")
                }
            }
            if noPlaintext, parsed.plaintext != nil {
                report.problem(
                    "\(user): a plaintext userPassword is stored (set the password again with --no-plaintext)"
                )
            }
            auditVerifiers(user, properties, parsed, into: &report)
            for property in properties.keys.sorted()
            where !Property.known.contains(property) && !property.bytes.starts(with: disabledPrefix) {
                report.warning("\(user): unknown property \(property)")
            }
        }
        report.note("users: \(byUser.count), records: \(records.count)")
    }

    /// Reports verifiers that cannot be used, and ones that do not belong to the stored plaintext.
    private func auditVerifiers(
        _ user: UserID,
        _ values: [Property: [UInt8]],
        _ parsed: UserSecrets,
        into report: inout CheckReport
    ) {
        if values[.cramMD5] != nil && parsed.cramMD5 == nil {
            report.problem("\(user): cmusaslsecretCRAM-MD5 is not 32 bytes long")
        }
        if values[.digestMD5] != nil && parsed.digestMD5 == nil {
            report.problem("\(user): cmusaslsecretDIGEST-MD5 is not 16 bytes long")
        }
        if let scram = parsed.scram, scram.iterations != store.configuration.secretPolicy.scramIterations {
            let configured = store.configuration.secretPolicy.scramIterations
            report.warning(
                "\(user): the SCRAM verifier has \(scram.iterations) iterations where the site's count is "
                    + "\(configured): a SCRAM exchange shows this user exists (set the password again to align it)"
            )
        }
        if let value = values[.authPassword], parsed.scram == nil {
            let text = String(decoding: value, as: UTF8.self)
            if text.hasPrefix("SCRAM-SHA-224$") || text.hasPrefix("SCRAM-SHA-384$") || text.hasPrefix("SCRAM-SHA-512$")
            {
                report.warning("\(user): authPassword uses a SCRAM hash only Cyrus checks (we check SHA-1 and SHA-256)")
            } else {
                report.problem("\(user): authPassword is not a SCRAM verifier that can be read")
            }
        }
        guard let plaintext = parsed.plaintext else { return }
        var stale: [String] = []
        if let cram = parsed.cramMD5, !cram.matches(password: plaintext) { stale.append("cmusaslsecretCRAM-MD5") }
        if let digest = parsed.digestMD5,
            !constantTimeEqual(
                DigestMD5Secret.hash(authid: user.authid, realm: user.realm, password: plaintext),
                digest
            )
        {
            stale.append("cmusaslsecretDIGEST-MD5")
        }
        if let scram = parsed.scram, !scram.verify(password: plaintext) { stale.append("authPassword") }
        if !stale.isEmpty {
            report.warning(
                "\(user): \(stale.joined(separator: ", ")) \(stale.count == 1 ? "belongs" : "belong") to another "
                    + "password than userPassword "
                    + "(Cyrus ignores them while userPassword exists)"
            )
        }
    }
}

/// The findings of `check`.
struct CheckReport {
    private(set) var problems = 0
    private(set) var warnings = 0
    private var lines: [String] = []

    mutating func problem(_ text: String) {
        problems += 1
        lines.append("problem: \(text)")
    }

    mutating func warning(_ text: String) {
        warnings += 1
        lines.append("warning: \(text)")
    }

    mutating func note(_ text: String) { lines.append(text) }

    func print() {
        var out = OutputBuffer()
        for line in lines { out.append(line + "\n") }
        out.append("\(problems) problem\(problems == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n")
        out.flush()
    }
}
