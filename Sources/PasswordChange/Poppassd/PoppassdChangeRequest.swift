import SASLDB

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

    /// Overwrites both passwords where they are stored, which the copies of this request made on its way (the
    /// session's effect, the handler, the gate) share: a copy-on-write mutation would wipe a fresh copy and leave the
    /// passwords in memory. No copy may read them afterwards.
    public mutating func erase() {
        current.overwriteSharedStorageWithZeros()
        new.overwriteSharedStorageWithZeros()
        current = []
        new = []
    }
}
