import SASLDB

/// Which `MAIL FROM` addresses an authenticated user may use, so that one account cannot forge another's mail.
///
/// By default a user may send only as their own address, the login `authid@realm` (the domain compared without
/// ASCII case, the local part exactly), and with the null sender `<>`. ``loginMap`` grants more addresses, the way
/// Postfix's `reject_sender_login_mismatch` with `smtpd_sender_login_maps` does. A refused sender gets 553 5.7.1.
public struct SenderPolicy: Sendable, Equatable {
    /// Whether a user may send as `authid@realm`, their own login; `true` by default.
    public var allowsOwnAddress: Bool
    /// Whether the null reverse-path `<>` (bounces, read receipts, vacation replies) is accepted; `true` by default.
    public var allowsNullSender: Bool
    /// Whether any sender is accepted from any authenticated user (no forgery protection); `false` by default.
    public var allowsAnySender: Bool
    /// Further addresses per user.
    public var loginMap: SenderLoginMap

    /// Creates a policy; the defaults allow a user's own address and `<>` only.
    public init(
        allowsOwnAddress: Bool = true,
        allowsNullSender: Bool = true,
        allowsAnySender: Bool = false,
        loginMap: SenderLoginMap = SenderLoginMap()
    ) {
        self.allowsOwnAddress = allowsOwnAddress
        self.allowsNullSender = allowsNullSender
        self.allowsAnySender = allowsAnySender
        self.loginMap = loginMap
    }

    /// Whether `user` may send with the envelope sender `sender` (`nil` for `<>`).
    public func permits(_ sender: SMTPMailbox?, for user: UserID) -> Bool {
        guard let sender else { return allowsNullSender }
        if allowsAnySender { return true }
        if allowsOwnAddress, Self.isOwnAddress(sender, of: user) { return true }
        return loginMap.users(for: sender)?.contains(user) ?? false
    }

    /// Whether `sender` is `authid@realm` of `user`.
    static func isOwnAddress(_ sender: SMTPMailbox, of user: UserID) -> Bool {
        guard !user.realm.isEmpty else { return false }
        return Array(sender.unquotedLocalPart.utf8) == user.authid
            && SMTPSyntax.equalsIgnoringASCIICase(sender.domain.utf8, user.realm)
    }
}
