#if canImport(Glibc)
import Glibc
#endif

/// Frames of ``BackendWire`` on a file descriptor: a 4-byte big-endian length, then the message.
package enum WireFrames {
    /// Writes `message` as one frame, all of it.
    ///
    /// - Throws: ``SASLDBError/io(path:operation:errno:)`` when the peer is gone.
    package static func write(_ message: [UInt8], to fd: Int32, name: String) throws {
        var frame = WireWriter()
        frame.bytes(message)
        try frame.data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw SASLDBError.io(path: name, operation: "write", errno: errno) }
                offset += written
            }
        }
    }

    /// Reads one frame; `nil` at a clean end of input before a frame starts.
    ///
    /// - Throws: ``SASLDBError/io(path:operation:errno:)`` for a read error, a frame cut short or over
    ///   ``BackendWire/maximumFrame``.
    package static func read(from fd: Int32, name: String) throws -> [UInt8]? {
        guard let header = try readExactly(4, from: fd, name: name, allowEnd: true) else { return nil }
        var reader = WireReader(header)
        let length = try reader.count()
        guard length <= BackendWire.maximumFrame else {
            throw SASLDBError.io(path: name, operation: "read a frame of \(length) bytes", errno: EMSGSIZE)
        }
        return try readExactly(length, from: fd, name: name, allowEnd: false)
    }

    private static func readExactly(_ count: Int, from fd: Int32, name: String, allowEnd: Bool) throws -> [UInt8]? {
        var data = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + offset }, count - offset) }
            if got < 0 && errno == EINTR { continue }
            if got == 0 && offset == 0 && allowEnd { return nil }
            guard got > 0 else { throw SASLDBError.io(path: name, operation: "read", errno: got == 0 ? EPIPE : errno) }
            offset += got
        }
        return data
    }
}
