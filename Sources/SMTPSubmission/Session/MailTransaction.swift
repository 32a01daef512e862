/// The envelope of the message being submitted: from MAIL to the reply after the final dot, or RSET.
struct MailTransaction {
    /// The envelope sender; `nil` for `<>`.
    var sender: SMTPMailbox?
    /// The MAIL parameters.
    var parameters: SMTPMailParameters
    /// The accepted recipients, in order.
    var recipients: [SMTPForwardPath] = []
}
