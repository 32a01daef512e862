/// The three values a poppassd dialogue collects, handed to the I/O layer at `newpass`.
///
/// It holds two passwords: whoever runs the change calls ``erase()`` as soon as the change returned.
public struct PoppassdChangeRequest: Sendable, Equatable {
    /// The login name as the client sent it (`alice` or `alice@example.org`).
    public private(set) var login: [UInt8]
    /// The current password.
    public private(set) var current: [UInt8]
    /// The new password.
    public private(set) var new: [UInt8]

    /// Creates a request.
    public init(login: [UInt8], current: [UInt8], new: [UInt8]) {
        self.login = login
        self.current = current
        self.new = new
    }

    /// Overwrites both passwords in place (the request holds the only copy the session made).
    public mutating func erase() {
        current.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        new.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        current = []
        new = []
    }
}
