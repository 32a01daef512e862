import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A backend kept by a helper process, which `sasldb` starts when the store lives on a database server: every call
/// goes to it as one ``BackendWire`` request, so the tool itself links no database client.
///
/// The helper starts on the first call and ends when the backend is released (its input closes).
package final class HelperBackend: ServerBackend {
    private struct Running {
        var socket: Int32
        var pid: pid_t
    }

    private let executable: String
    private let arguments: [String]
    private let running = Mutex<Running?>(nil)

    /// A backend served by `executable` started with `arguments`.
    package init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    deinit {
        running.withLock { running in
            guard let current = running else { return }
            close(current.socket)
            var status: Int32 = 0
            waitpid(current.pid, &status, 0)
        }
    }

    package func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        var reply = try call(.fetch(user, properties))
        var found: [Property: [UInt8]] = [:]
        for _ in 0..<(try reply.count()) { found[Property(bytes: try reply.bytes())] = try reply.bytes() }
        return found
    }

    package func records() throws -> [Record] {
        var reply = try call(.records)
        var records: [Record] = []
        for _ in 0..<(try reply.count()) { records.append(Record(key: try reply.key(), value: try reply.bytes())) }
        return records
    }

    package func recordKeys() throws -> RecordKeyList {
        var reply = try call(.recordKeys)
        var keys = RecordKeyList()
        for _ in 0..<(try reply.count()) { keys.append(try reply.bytes()) }
        return keys
    }

    package func apply(_ batch: WriteBatch) throws { _ = try call(.apply(batch)) }

    package func initializeSchema() throws -> SchemaInitialization {
        var reply = try call(.initializeSchema)
        return try reply.schemaInitialization()
    }

    private func call(_ request: BackendWire.Request) throws -> WireReader {
        try running.withLock { running in
            let current = try running ?? start()
            running = current
            try WireFrames.write(BackendWire.encode(request), to: current.socket, name: executable)
            guard let response = try WireFrames.read(from: current.socket, name: executable) else {
                throw SASLDBError.io(path: executable, operation: "read an answer (the helper ended)", errno: EPIPE)
            }
            return try BackendWire.payload(response)
        }
    }

    /// Starts the helper with one end of a socket pair as its standard input and output.
    private func start() throws -> Running {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw SASLDBError.io(path: executable, operation: "socketpair", errno: errno)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // No environment: the helper needs none, and a setuid caller's (chgsaslpasswd's) is its caller's choice.
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environment)
        close(ends[1])
        guard status == 0 else {
            close(ends[0])
            throw SASLDBError.io(path: executable, operation: "start the PostgreSQL helper", errno: status)
        }
        return Running(socket: ends[0], pid: pid)
    }
}
