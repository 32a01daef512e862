/// Why a message (DATA or BDAT) will not be accepted, found while its text arrives; the first reason wins.
enum MessageRefusal: Equatable {
    /// More than the size limit.
    case tooBig
    /// A line over the text line limit.
    case lineTooLong
    /// A bare CR or LF.
    case bareLineEnding
    /// A NUL octet, which no message may hold (RFC 5322 section 3.5; RFC 6152 without BINARYMIME): a next hop that
    /// drops NULs before it parses would read `<CR><LF><NUL>.<CR><LF>` as the end of data.
    case nulOctet
    /// The server holds as many message bytes across its connections as it may: a temporary refusal.
    case storageExhausted

    /// The reply that refuses the message.
    var reply: SMTPReply {
        switch self {
        case .tooBig: return .messageTooBig
        case .lineTooLong: return .dataLineTooLong
        case .bareLineEnding: return .bareLineEndingInData
        case .nulOctet: return .nulInData
        case .storageExhausted: return .insufficientStorage
        }
    }

    /// The log's `smtp.reason`.
    var logReason: String {
        switch self {
        case .tooBig: return "message too big"
        case .lineTooLong: return "line too long"
        case .bareLineEnding: return "bare CR or LF"
        case .nulOctet: return "NUL octet"
        case .storageExhausted: return "message memory of the server spent"
        }
    }
}
