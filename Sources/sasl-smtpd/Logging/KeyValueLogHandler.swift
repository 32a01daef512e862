import Logging
import SASLDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one line per event to standard error, as `key=value` fields:
///
/// ```
/// 2024-05-24T15:44:17Z level=info msg=auth smtp.session=4AbC9dE client.address=192.0.2.1 auth.result=success
/// ```
///
/// Values with blanks, quotes, `=` or control characters are quoted, with `\"`, `\\`, `\n`, `\r`, `\t` and `\xNN`
/// escapes, so one event is always one line whatever a client sent. The level is shared by every logger and can be
/// changed while running (``setLevel(_:)``, on SIGHUP).
struct KeyValueLogHandler: LogHandler {
    /// The level of every handler.
    private static let sharedLevel = Atomic<UInt8>(2)

    /// Changes the level of every handler.
    static func setLevel(_ level: Logger.Level) {
        sharedLevel.store(UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 2), ordering: .relaxed)
    }

    /// The logger's label, logged as `logger=` unless it is the daemon's own.
    let label: String
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    var logLevel: Logger.Level {
        get {
            let index = Int(Self.sharedLevel.load(ordering: .relaxed))
            return Logger.Level.allCases.indices.contains(index) ? Logger.Level.allCases[index] : .info
        }
        set { Self.setLevel(newValue) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        // The line is built as bytes in one buffer: an authenticated session logs two lines at `info`, and building
        // each by String concatenation cost about 30,000 instructions.
        var line: [UInt8] = []
        line.reserveCapacity(320)
        line.append(contentsOf: Self.timestamp().utf8)
        Self.append(" level=", event.level.rawValue, to: &line)
        Self.append(" msg=", logToken("\(event.message)"), to: &line)
        if label != "sasl-smtpd" { Self.append(" logger=", logToken(label), to: &line) }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            Self.append(" ", logToken(key), to: &line)
            Self.append("=", logToken(Self.flatten(value)), to: &line)
        }
        if let error = event.error { Self.append(" error=", logToken("\(error)"), to: &line) }
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(2, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    private static func append(_ separator: StaticString, _ token: String, to line: inout [UInt8]) {
        separator.withUTF8Buffer { line.append(contentsOf: $0) }
        line.append(contentsOf: token.utf8)
    }

    private static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(flatten).joined(separator: ",")
        case .dictionary(let values):
            return values.sorted { $0.key < $1.key }.map { "\($0.key):\(flatten($0.value))" }.joined(separator: ",")
        }
    }

    /// The timestamp of the last line and the second it names: lines within one second share it.
    private static let lastTimestamp = Mutex<(seconds: time_t, text: String)>((0, ""))

    /// UTC, to the second: `2024-05-24T15:44:17Z`; formatted once per second, not once per line.
    private static func timestamp() -> String {
        var seconds = time(nil)
        if let text = lastTimestamp.withLock({ $0.seconds == seconds ? $0.text : nil }) { return text }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text =
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
        lastTimestamp.withLock { $0 = (seconds, text) }
        return text
    }
}
