import PasswordChange

/// One request to the privileged password writer: `0x01`, the request's id as 4 bytes, then the login, the current
/// password, the new password and the origin, each a length-prefixed field (``PasswordWriterFrame``).
///
/// The writer echoes the id in its reply, so the daemon tells the answer to this request from the late answer to one
/// it has given up waiting for.
///
/// The bounds admit anything a poppassd line can carry and nothing more; a frame that breaks them, has another
/// first byte, an origin that is not UTF-8, or bytes after the origin does not decode. It holds two passwords: call
/// ``erase()`` once the change returned.
package struct PasswordWriterRequest: Sendable, Equatable {
    /// The first byte of a change request, the only kind there is.
    static let changeTag: UInt8 = 0x01
    /// The longest login name or password: a poppassd line's maximum.
    package static let maximumFieldLength = PoppassdSession.maximumLineLength
    /// The longest origin (`poppassd client=<IPv6 address>` is well under it).
    package static let maximumOriginLength = 256
    /// The longest frame: the tag, the id, four lengths, the fields.
    package static let maximumFrameLength = 1 + 4 + 4 * 2 + 3 * maximumFieldLength + maximumOriginLength

    /// The id the reply carries back.
    package var id: UInt32
    /// The login name as the client sent it.
    package private(set) var login: [UInt8]
    /// The current password.
    package private(set) var current: [UInt8]
    /// The new password.
    package private(set) var new: [UInt8]
    /// Where the request came from, for the writer's audit record.
    package private(set) var origin: String

    /// Creates a request; `nil` when a field is over its bound.
    package init?(id: UInt32, login: [UInt8], current: [UInt8], new: [UInt8], origin: String) {
        guard [login, current, new].allSatisfy({ $0.count <= Self.maximumFieldLength }),
            origin.utf8.count <= Self.maximumOriginLength
        else { return nil }
        self.id = id
        self.login = login
        self.current = current
        self.new = new
        self.origin = origin
    }

    /// Decodes a frame; `nil` when it is not exactly one well-formed request.
    package init?(frame: ArraySlice<UInt8>) {
        var reader = PasswordWriterFrame(frame)
        guard reader.byte() == Self.changeTag,
            let id = reader.uint32(),
            let login = reader.field(maximum: Self.maximumFieldLength),
            let current = reader.field(maximum: Self.maximumFieldLength),
            let new = reader.field(maximum: Self.maximumFieldLength),
            let origin = reader.field(maximum: Self.maximumOriginLength),
            reader.isAtEnd,
            let text = String(validating: origin, as: UTF8.self)
        else { return nil }
        self.id = id
        self.login = login
        self.current = current
        self.new = new
        self.origin = text
    }

    /// The frame; it holds both passwords, so the caller overwrites it once sent.
    package var frame: [UInt8] {
        var frame = [Self.changeTag]
        frame.reserveCapacity(13 + login.count + current.count + new.count + origin.utf8.count)
        PasswordWriterFrame.append(id, to: &frame)
        for field in [login, current, new] { PasswordWriterFrame.append(field, to: &frame) }
        PasswordWriterFrame.append(origin.utf8, to: &frame)
        return frame
    }

    /// Overwrites both passwords in place (best effort: copies made by the runtime are out of reach).
    package mutating func erase() {
        current.overwriteWithZeros()
        new.overwriteWithZeros()
        current = []
        new = []
    }
}
