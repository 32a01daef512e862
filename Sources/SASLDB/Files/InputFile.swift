#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file or standard input into memory.
package enum InputFile {
    /// The bytes of `path`, or of standard input for `-` or `nil`.
    package static func read(_ path: String?) throws -> [UInt8] {
        let fd: Int32
        if let path, path != "-" {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SASLDBError.io(path: path, operation: "open", errno: errno) }
        } else {
            fd = 0
        }
        defer { if fd != 0 { close(fd) } }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return data }
            if count < 0 {
                if errno == EINTR { continue }
                throw SASLDBError.io(path: path ?? "standard input", operation: "read", errno: errno)
            }
            data += chunk[..<count]
        }
    }
}
