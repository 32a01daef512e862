/// Client-supplied text made safe for one log line: control characters and non-ASCII bytes become `?`, and it is cut
/// at 256 characters, so that a client cannot forge log lines or flood the log.
enum LogText {
    static func clean(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(256).map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? $0 : "?" }
            )
        )
    }
}
