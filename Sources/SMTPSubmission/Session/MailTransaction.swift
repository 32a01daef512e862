/// The envelope of the message being submitted: from MAIL to the reply after the final dot or the last BDAT chunk, or
/// RSET.
struct MailTransaction {
    /// The envelope sender; `nil` for `<>`.
    var sender: SMTPMailbox?
    /// The MAIL parameters.
    var parameters: SMTPMailParameters
    /// The accepted recipients, in order.
    var recipients: [SMTPForwardPath] = []
    /// The message sent with BDAT so far; `nil` until the first BDAT (such a transaction takes no DATA).
    var chunks: MessageChunkReceiver?
}
