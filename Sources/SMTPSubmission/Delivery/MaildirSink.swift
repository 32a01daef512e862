import ServerKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Delivers into a Maildir (`tmp/`, `new/`, `cur/`), with the envelope in a file of the same name under `envelope/`.
///
/// Each message is written to `tmp/` under a unique name (`SECONDS.MUSECPpidQcounterIidRrandom.HOST`, mode 0600),
/// fsynced, and renamed into `new/`, whose directory is then fsynced: a reader of `new/` sees a complete message or
/// none, and once ``deliver(_:)`` returns the message survives a crash. The message file holds the bytes exactly as
/// submitted (the `Received:` header the server prepended, CRLF line endings), so a mail reader can open it as is.
///
/// The envelope is kept beside it, because a Maildir message has no place for it: `envelope/NAME` is a text file of
/// `key: value` lines, written, fsynced and renamed the same way, and always before the message appears in `new/`:
///
/// ```
/// id: 5f3c2a9e
/// sender: alice@example.org
/// authenticated-user: alice@example.org
/// parameter: BODY=8BITMIME
/// recipient: bob@example.net
/// recipient: carol@example.net
/// ```
///
/// `sender` is empty for the null reverse-path; `recipient` repeats, in `RCPT TO` order; `parameter` repeats, sorted.
/// A reader that moves a message to `cur/` (appending `:2,FLAGS`) finds its envelope under the part before the `:`.
/// Any failure throws ``MessageSinkError/temporary(reason:)`` after removing what this delivery created, so the client
/// retries and no reader ever sees half a message or a message without its envelope.
public struct MaildirSink: MessageSink {
    /// The Maildir: it holds `tmp/`, `new/`, `cur/` and `envelope/`, created (0700) when missing.
    public let directory: String

    /// A step of a delivery, named so tests can make it fail.
    enum Step: Sendable, Equatable {
        case createFile
        case writeFile
        case syncFile
        case renameEnvelope
        case renameMessage
        case syncEnvelopeDirectory
        case syncNewDirectory
    }

    /// Test hook: returns `true` to make a step fail as if the system call had returned `EIO`.
    let failure: (@Sendable (Step) -> Bool)?

    /// Creates a sink delivering into `directory`.
    ///
    /// - Parameter directory: the Maildir root; a relative path is taken from the working directory of the process.
    public init(directory: String) {
        self.init(directory: directory, failure: nil)
    }

    init(directory: String, failure: (@Sendable (Step) -> Bool)?) {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
        self.failure = failure
    }

    /// Creates the Maildir's directories (mode 0700) where they are missing, and checks that they are directories.
    ///
    /// The daemon calls it at startup, as the user it runs as, so a spool it cannot write is reported before the first
    /// message rather than at it.
    /// - Throws: ``MessageSinkError/temporary(reason:)`` naming the directory that could not be made.
    public func prepare() throws(MessageSinkError) {
        for path in [directory] + Self.subdirectories.map({ directory + "/" + $0 }) {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw SystemError.temporary("mkdir", path, errno)
            }
            var status = stat()
            guard stat(path, &status) == 0 else { throw SystemError.temporary("stat", path, errno) }
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw .temporary(reason: "\(path) is not a directory")
            }
        }
    }

    /// Writes the message and its envelope durably, or throws ``MessageSinkError/temporary(reason:)``.
    public func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        try await BlockingWork.run { () throws(MessageSinkError) in
            _ = try self.store(message)
        }
    }

    /// The blocking delivery; returns the file name used in `new/` and `envelope/`.
    func store(_ message: SubmittedMessage) throws(MessageSinkError) -> String {
        let envelope = try Self.envelope(of: message)
        try prepare()
        var created: [String] = []
        do throws(FileFailure) {
            let name = try createUnique(envelope: envelope, created: &created)
            let messageTemporary = directory + "/tmp/" + name
            try writeNew(messageTemporary, contents: message.data, created: &created)

            try move(
                directory + "/tmp/" + name + ".envelope",
                to: directory + "/envelope/" + name,
                step: .renameEnvelope,
                created: &created
            )
            try syncDirectory(directory + "/envelope", step: .syncEnvelopeDirectory)

            try move(messageTemporary, to: directory + "/new/" + name, step: .renameMessage, created: &created)
            try syncDirectory(directory + "/new", step: .syncNewDirectory)
            return name
        } catch {
            // The message reaches new/ only once everything before it succeeded; if the last fsync fails it comes out
            // again, so that the client's retry does not make a second copy of a message we did not promise to keep.
            for path in created.reversed() { unlink(path) }
            syncDirectory(bestEffort: directory + "/new")
            throw .temporary(reason: error.description)
        }
    }

    /// The Maildir's subdirectories.
    static let subdirectories = ["tmp", "new", "cur", "envelope"]

    /// The envelope file's text.
    static func envelope(of message: SubmittedMessage) throws(MessageSinkError) -> [UInt8] {
        var lines = [
            "id: " + message.id, "sender: " + message.sender, "authenticated-user: " + message.authenticatedUser,
        ]
        lines += message.parameters.sorted { $0.key < $1.key }.map { "parameter: \($0.key)=\($0.value)" }
        lines += message.recipients.map { "recipient: " + $0 }
        for line in lines where line.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) {
            throw .permanent(reason: "an envelope field holds a line break or NUL")
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    // MARK: - Files

    /// A failed system call of a delivery.
    struct FileFailure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32

        var description: String { SystemError.describe(operation, path, code) }
    }

    /// Writes the envelope to `tmp/NAME.envelope` under a name no other delivery uses, and returns the name.
    private func createUnique(envelope: [UInt8], created: inout [String]) throws(FileFailure) -> String {
        var attempt = 0
        while true {
            let name = Self.uniqueName()
            do throws(FileFailure) {
                try writeNew(directory + "/tmp/" + name + ".envelope", contents: envelope, created: &created)
                return name
            } catch {
                attempt += 1
                guard error.code == EEXIST && attempt < 8 else { throw error }
            }
        }
    }

    /// Creates `path` exclusively (0600), writes `contents`, fsyncs and closes it.
    private func writeNew(_ path: String, contents: [UInt8], created: inout [String]) throws(FileFailure) {
        if failure?(.createFile) == true { throw FileFailure(operation: "create", path: path, code: EIO) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileFailure(operation: "create", path: path, code: errno) }
        created.append(path)
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw FileFailure(operation: "chmod", path: path, code: errno) }
        // A test's failed write stops after half of the bytes, as a full disk would.
        let failsHalfway = failure?(.writeFile) == true
        let end = failsHalfway ? contents.count / 2 : contents.count
        var written = 0
        while written < end {
            let result = contents.withUnsafeBytes { raw in
                write(fd, raw.baseAddress.map { $0 + written }, min(end - written, 1 << 20))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileFailure(operation: "write", path: path, code: errno)
            }
            written += result
        }
        if failsHalfway { throw FileFailure(operation: "write", path: path, code: ENOSPC) }
        if failure?(.syncFile) == true { throw FileFailure(operation: "fsync", path: path, code: EIO) }
        guard fsync(fd) == 0 else { throw FileFailure(operation: "fsync", path: path, code: errno) }
    }

    /// Moves `source` to `destination`, which must not exist yet.
    ///
    /// `link` then `unlink`, as the Maildir specification does: unlike `rename`, `link` never replaces a file that
    /// happens to have the same name. File systems without hard links get `rename`.
    private func move(
        _ source: String,
        to destination: String,
        step: Step,
        created: inout [String]
    ) throws(FileFailure) {
        if failure?(step) == true { throw FileFailure(operation: "rename", path: source, code: EIO) }
        if link(source, destination) == 0 {
            created.append(destination)
            unlink(source)
        } else {
            let code = errno
            guard code == EPERM || code == EOPNOTSUPP || code == ENOSYS || code == EMLINK else {
                throw FileFailure(operation: "link", path: destination, code: code)
            }
            guard access(destination, F_OK) != 0 else {
                throw FileFailure(operation: "rename", path: destination, code: EEXIST)
            }
            guard rename(source, destination) == 0 else {
                throw FileFailure(operation: "rename", path: source, code: errno)
            }
            created.append(destination)
        }
        created.removeAll { $0 == source }
    }

    /// Makes the directory's entries durable.
    private func syncDirectory(_ path: String, step: Step) throws(FileFailure) {
        if failure?(step) == true { throw FileFailure(operation: "fsync", path: path, code: EIO) }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileFailure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileFailure(operation: "fsync", path: path, code: errno) }
    }

    private func syncDirectory(bestEffort path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    // MARK: - Names

    /// `SECONDS.MusecPpidQcounterRrandom.HOST` (the unique-name scheme of Dovecot and the Maildir specification).
    static func uniqueName() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let counter = deliveryCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(counter)R\(random).\(hostName)"
    }

    /// The host name with `/` and `:` escaped as the Maildir specification asks.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name.replacingOccurrences("/", "\\057").replacingOccurrences(":", "\\072")
    }()
}

/// Deliveries by this process, for unique names.
private let deliveryCounter = Atomic<UInt64>(0)

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
