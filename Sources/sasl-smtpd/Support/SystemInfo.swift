import SMTPSubmission

#if canImport(Glibc)
import Glibc
#endif

/// Facts about the host the daemon reads once.
enum SystemInfo {
    /// The host name (`gethostname`), lowercased; `localhost` when there is none.
    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name.lowercased()
    }

    /// The current time with the local UTC offset, for `Received:` headers.
    static func now() -> SMTPTimestamp {
        var seconds = time(nil)
        var local = tm()
        localtime_r(&seconds, &local)
        return SMTPTimestamp(secondsSince1970: Int64(seconds), utcOffsetSeconds: local.tm_gmtoff)
    }

    /// The value of environment variable `name`, when set and not empty.
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// The text for `errno` `code`.
    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
