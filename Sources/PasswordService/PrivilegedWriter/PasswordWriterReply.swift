import PasswordChange

/// The privileged password writer's answer to one ``PasswordWriterRequest``: the request's id as 4 bytes, a tag byte
/// naming the outcome, then what that outcome carries.
///
/// | tag | outcome | then |
/// |-----|---------|------|
/// | 0 | changed | — |
/// | 1 | ``PasswordChangeError/authenticationFailed`` | — |
/// | 2 | ``PasswordChangeError/invalidLogin`` | — |
/// | 3 | ``PasswordChangeError/policy(_:)`` | the rule (1–7), then its bound as 4 bytes (0 for a rule without one) |
/// | 4 | ``PasswordChangeError/notPermitted`` | — |
/// | 5 | ``PasswordChangeError/throttled`` | — |
/// | 6 | ``PasswordChangeError/unavailable(reason:)`` | the reason, a length-prefixed field |
/// | 7 | ``PasswordChangeError/invalidConfiguration(_:)`` | the message, a length-prefixed field |
package enum PasswordWriterReply: Sendable, Equatable {
    /// The password changed.
    case changed
    /// It did not, for this reason.
    case refused(PasswordChangeError)

    /// The longest text a reply carries; a longer one is cut (it is for the log).
    package static let maximumTextLength = 512
    /// The longest frame: an id, a tag and a text.
    package static let maximumFrameLength = 4 + 1 + 2 + maximumTextLength

    /// Decodes a frame into the id of the request it answers and the reply; `nil` when it is not exactly one
    /// well-formed reply.
    package static func decode(frame: ArraySlice<UInt8>) -> (id: UInt32, reply: Self)? {
        var reader = PasswordWriterFrame(frame)
        guard let id = reader.uint32(), let reply = Self(reading: &reader), reader.isAtEnd else { return nil }
        return (id, reply)
    }

    /// Reads the outcome after the id; `nil` when it is malformed.
    private init?(reading reader: inout PasswordWriterFrame) {
        guard let tag = reader.byte() else { return nil }
        let reply: Self
        switch tag {
        case 0: reply = .changed
        case 1: reply = .refused(.authenticationFailed)
        case 2: reply = .refused(.invalidLogin)
        case 3:
            guard let rule = reader.byte(), let bound = reader.uint32(),
                let violation = Self.violation(rule: rule, bound: Int(bound))
            else { return nil }
            reply = .refused(.policy(violation))
        case 4: reply = .refused(.notPermitted)
        case 5: reply = .refused(.throttled)
        case 6, 7:
            guard let field = reader.field(maximum: Self.maximumTextLength),
                let text = String(validating: field, as: UTF8.self)
            else { return nil }
            reply = .refused(tag == 6 ? .unavailable(reason: text) : .invalidConfiguration(text))
        default: return nil
        }
        self = reply
    }

    /// The reply for an outcome: `nil` is a change.
    package init(_ outcome: PasswordChangeError?) {
        self = outcome.map(Self.refused) ?? .changed
    }

    /// The outcome: `nil` when the password changed.
    package var error: PasswordChangeError? {
        guard case .refused(let error) = self else { return nil }
        return error
    }

    /// The frame answering the request `id`.
    package func frame(id: UInt32) -> [UInt8] {
        var frame: [UInt8] = []
        PasswordWriterFrame.append(id, to: &frame)
        guard case .refused(let error) = self else { return frame + [0] }
        switch error {
        case .authenticationFailed: frame.append(1)
        case .invalidLogin: frame.append(2)
        case .policy(let violation):
            let (rule, bound) = Self.code(of: violation)
            frame += [3, rule]
            PasswordWriterFrame.append(UInt32(clamping: bound), to: &frame)
        case .notPermitted: frame.append(4)
        case .throttled: frame.append(5)
        case .unavailable(let reason): Self.appendText(6, reason, to: &frame)
        case .invalidConfiguration(let message): Self.appendText(7, message, to: &frame)
        }
        return frame
    }

    private static func appendText(_ tag: UInt8, _ text: String, to frame: inout [UInt8]) {
        // Cut on a character boundary so the field stays UTF-8.
        var cut = Substring(text)
        while cut.utf8.count > maximumTextLength { cut = cut.dropLast() }
        frame.append(tag)
        PasswordWriterFrame.append(cut.utf8, to: &frame)
    }

    private static func code(of violation: PolicyViolation) -> (rule: UInt8, bound: Int) {
        switch violation {
        case .tooShort(let minimum): (1, minimum)
        case .tooLong(let maximum): (2, maximum)
        case .notUTF8: (3, 0)
        case .controlCharacter: (4, 0)
        case .sameAsCurrent: (5, 0)
        case .sameAsLogin: (6, 0)
        case .common: (7, 0)
        }
    }

    /// The violation a rule code names; `nil` for an unknown code or a bound on a rule that has none.
    private static func violation(rule: UInt8, bound: Int) -> PolicyViolation? {
        guard rule <= 2 || bound == 0 else { return nil }
        switch rule {
        case 1: return .tooShort(minimum: bound)
        case 2: return .tooLong(maximum: bound)
        case 3: return .notUTF8
        case 4: return .controlCharacter
        case 5: return .sameAsCurrent
        case 6: return .sameAsLogin
        case 7: return .common
        default: return nil
        }
    }
}
