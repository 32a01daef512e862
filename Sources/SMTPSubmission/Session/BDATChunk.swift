/// A BDAT chunk whose octets the session is reading (RFC 3030).
struct BDATChunk {
    /// What becomes of the octets.
    enum Disposition {
        /// They go into the transaction's message.
        case append
        /// They are read and thrown away, then `reply` is sent: RFC 3030 section 2 has the server read the octets of
        /// a chunk it refuses, so that the next command is found where the client put it.
        case discard(SMTPReply, countsAsError: Bool)
    }

    /// The octets the command announced.
    var size: Int
    /// The octets still to come.
    var remaining: Int
    /// Whether the command said `LAST`.
    var isLast: Bool
    var disposition: Disposition
    /// The phase to go back to once the octets are read.
    var phaseAfter: SMTPSessionPhase
}
