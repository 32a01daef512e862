/// What the I/O layer must do for the ``PoppassdSession``, in order.
public enum PoppassdEffect: Sendable, Equatable {
    /// Send the reply.
    case reply(PoppassdReply)
    /// Check the current password and change it (``PasswordChanger/change(login:current:new:origin:)``, off the event
    /// loop), then hand the outcome to ``PoppassdSession/changeFinished(_:)``. No further line is given to the session
    /// until then.
    case checkAndChange(PoppassdChangeRequest)
    /// Wait this long before the next effect, reading nothing meanwhile.
    case pause(Duration)
    /// Close the connection once what was sent is flushed.
    case close
}
