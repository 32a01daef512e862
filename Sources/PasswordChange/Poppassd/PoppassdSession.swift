/// The poppassd password-change dialogue as a state machine without I/O: lines in, ``PoppassdEffect``s out.
///
/// The dialogue is the one classic poppassd speaks and Roundcube's `poppassd` password driver sends:
///
/// ```
/// S: 200 poppassd hello, who are you?
/// C: user alice@example.org
/// S: 200 your password please.
/// C: pass old secret
/// S: 200 your new password please.
/// C: newpass new horse battery
/// S: 200 Password changed, thank-you.      (or 500 <reason>, then the connection closes)
/// C: quit
/// S: 200 Bye.
/// ```
///
/// Nothing is looked up before `newpass`: `user` and `pass` are answered `200` whatever they hold, so an unknown user,
/// a disabled one and a wrong password all get the same replies at the same moments, and the change itself does the
/// same work for all of them (see ``PasswordChanger``). A refused change is answered after ``Limits/failurePause``
/// and closes the connection: one guess per connection, the I/O layer's rate limits doing the rest.
///
/// Verbs are case-insensitive; the argument is the rest of the line after one space. A line with an unknown verb, a
/// verb out of order, or a missing argument is answered `500` and counted; at ``Limits/maximumErrors`` the connection
/// closes. A line longer than ``maximumLineLength`` closes it at once.
public struct PoppassdSession: Sendable {
    /// The bounds of one dialogue.
    public struct Limits: Sendable, Equatable {
        /// Protocol errors (unknown verbs, verbs out of order) allowed before the connection is closed: a client that
        /// does not speak poppassd is not kept talking.
        public var maximumErrors: Int
        /// How long a refused change waits before its reply, whatever the reason: slows a guesser on one connection
        /// and keeps the reply's timing the same for every refusal.
        public var failurePause: Duration

        /// Creates limits.
        ///
        /// - Parameters:
        ///   - maximumErrors: protocol errors before closing.
        ///   - failurePause: the wait before a refusal is sent.
        public init(maximumErrors: Int = 3, failurePause: Duration = .seconds(1)) {
            self.maximumErrors = max(1, maximumErrors)
            self.failurePause = failurePause
        }
    }

    /// The longest line accepted, in bytes, without its line ending: room for `newpass ` and a password of
    /// ``PasswordPolicy/defaultMaximumLength`` characters of up to four bytes each.
    public static let maximumLineLength = 1100

    private enum State {
        case notStarted
        case awaitingUser
        case awaitingPassword(login: [UInt8])
        case awaitingNewPassword(login: [UInt8], current: [UInt8])
        case changing
        case changed
        case closed
    }

    private let limits: Limits
    private var state = State.notStarted
    private var errors = 0

    /// Creates a session.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether the session waits for the outcome of a ``PoppassdEffect/checkAndChange(_:)``: lines that arrive
    /// meanwhile are held by the I/O layer until ``changeFinished(_:)``.
    public var isChanging: Bool {
        if case .changing = state { return true }
        return false
    }

    /// The connection is open: the greeting.
    public mutating func start() -> [PoppassdEffect] {
        guard case .notStarted = state else { return [] }
        state = .awaitingUser
        return [.reply(.greeting)]
    }

    /// A complete line from the client, without its line ending.
    public mutating func receive(line: [UInt8]) -> [PoppassdEffect] {
        let command = PoppassdCommand(line: line)
        switch (state, command) {
        case (.closed, _), (.notStarted, _), (.changing, _):
            return []
        case (_, .quit):
            return close(with: .bye)
        case (.awaitingUser, .user(let login)):
            state = .awaitingPassword(login: login)
            return [.reply(.askPassword)]
        case (.awaitingPassword(let login), .pass(let current)):
            state = .awaitingNewPassword(login: login, current: current)
            return [.reply(.askNewPassword)]
        case (.awaitingNewPassword(let login, let current), .newpass(let new)):
            state = .changing
            return [.checkAndChange(PoppassdChangeRequest(login: login, current: current, new: new))]
        case (_, .unrecognized):
            return error("unknown command or missing argument")
        case (.awaitingUser, _):
            return error("send user first")
        case (.awaitingPassword, _):
            return error("send pass first")
        case (.awaitingNewPassword, _):
            return error("send newpass first")
        case (.changed, _):
            return error("the password was changed: send quit")
        }
    }

    /// A line longer than ``maximumLineLength``: refused, and the connection closes (its end cannot be trusted to
    /// be the start of a command).
    public mutating func receiveOverlongLine() -> [PoppassdEffect] {
        guard !isClosed else { return [] }
        return close(with: .lineTooLong)
    }

    /// The client was silent longer than the I/O layer allows, or the daemon is shutting down: the reply, then close.
    /// Before `newpass` nothing has changed; during a change, the I/O layer waits for it instead.
    public mutating func interrupt(with reply: PoppassdReply) -> [PoppassdEffect] {
        guard !isClosed, !isChanging else { return [] }
        return close(with: reply)
    }

    /// The outcome of the change the session asked for.
    ///
    /// - Parameter outcome: `nil` when the password changed, else why not.
    public mutating func changeFinished(_ outcome: PasswordChangeError?) -> [PoppassdEffect] {
        guard isChanging else { return [] }
        guard let outcome else {
            state = .changed
            return [.reply(.changed)]
        }
        return [.pause(limits.failurePause)] + close(with: .refusal(outcome))
    }

    private var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    private mutating func error(_ text: String) -> [PoppassdEffect] {
        errors += 1
        guard errors < limits.maximumErrors else { return close(with: .tooManyErrors) }
        return [.reply(PoppassdReply(code: 500, text: text))]
    }

    private mutating func close(with reply: PoppassdReply) -> [PoppassdEffect] {
        // A dialogue that ends before `newpass` still holds the current password: wipe it.
        if case .awaitingNewPassword(_, let current) = state { current.overwriteSharedStorageWithZeros() }
        state = .closed
        return [.reply(reply), .close]
    }
}
