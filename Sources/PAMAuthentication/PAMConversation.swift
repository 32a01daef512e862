import CPAM

#if canImport(Glibc)
import Glibc
#endif

/// What the conversation function of one PAM transaction answers with, and what PAM asked of it.
///
/// PAM calls back into C function pointers with this object as their `appdata_ptr`: `pamConverse` answers
/// a hidden prompt with the password and a visible one with the account name (as `saslauthd` does), and
/// `pamRecordFailureDelay` records the delay PAM would otherwise sleep after a failure, on a thread that must not
/// sleep. The password lives in a buffer of its own, zeroed by ``erase()`` and at the latest when the object goes.
final class PAMConversation {
    /// The account name, NUL-terminated.
    private let name: [CChar]
    /// The password, NUL-terminated, in memory this object zeroes.
    private let password: UnsafeMutableBufferPointer<CChar>
    /// The longest failure delay PAM asked for, in microseconds; `nil` when it asked for none.
    private(set) var requestedFailureDelay: UInt32?
    /// How many prompts were answered with the password.
    private(set) var passwordPrompts = 0

    /// Creates the answers for `name` and `password` (neither may contain NUL).
    init(name: String, password: [UInt8]) {
        self.name = Array(name.utf8CString)
        self.password = .allocate(capacity: password.count + 1)
        for (index, byte) in password.enumerated() { self.password[index] = CChar(bitPattern: byte) }
        self.password[password.count] = 0
    }

    deinit {
        erase()
        password.deallocate()
    }

    /// Overwrites the password with zeros; a prompt after this gets an empty answer.
    func erase() {
        password.update(repeating: 0)
    }

    /// What to answer a message of `style`: a copy PAM may `free`, nothing (a message that takes no answer), or why
    /// there is no answer.
    func answer(to style: Int32) -> Answer {
        switch style {
        case PAM_PROMPT_ECHO_OFF:
            passwordPrompts += 1
            return Self.mallocCopy(UnsafeBufferPointer(password)).map(Answer.text) ?? .outOfMemory
        case PAM_PROMPT_ECHO_ON:
            return name.withUnsafeBufferPointer { Self.mallocCopy($0) }.map(Answer.text) ?? .outOfMemory
        case PAM_ERROR_MSG, PAM_TEXT_INFO:
            return .none
        default:
            return .unknownStyle
        }
    }

    func recordFailureDelay(_ microseconds: UInt32) {
        requestedFailureDelay = max(requestedFailureDelay ?? 0, microseconds)
    }

    enum Answer {
        case text(UnsafeMutablePointer<CChar>)
        case none
        case outOfMemory
        case unknownStyle
    }

    /// A `malloc`ed copy of the NUL-terminated string in `bytes` (PAM frees the answers it gets).
    private static func mallocCopy(_ bytes: UnsafeBufferPointer<CChar>) -> UnsafeMutablePointer<CChar>? {
        guard let base = bytes.baseAddress else { return nil }
        let length = strnlen(base, bytes.count)
        guard let copy = malloc(length + 1)?.assumingMemoryBound(to: CChar.self) else { return nil }
        copy.update(from: base, count: length)
        copy[length] = 0
        return copy
    }
}

/// PAM's conversation callback: one answer per message, all handed over or none (on an error every copy made so far
/// is zeroed and freed, since PAM only frees the answers of a successful call).
func pamConverse(
    _ count: Int32,
    _ messages: UnsafeMutablePointer<UnsafePointer<pam_message>?>?,
    _ responses: UnsafeMutablePointer<UnsafeMutablePointer<pam_response>?>?,
    _ appdata: UnsafeMutableRawPointer?
) -> Int32 {
    guard count > 0, count <= PAM_MAX_NUM_MSG, let messages, let responses, let appdata else { return PAM_CONV_ERR }
    let conversation = Unmanaged<PAMConversation>.fromOpaque(appdata).takeUnretainedValue()
    guard
        let replies = calloc(Int(count), MemoryLayout<pam_response>.stride)?.assumingMemoryBound(to: pam_response.self)
    else { return PAM_BUF_ERR }
    for index in 0..<Int(count) {
        let answer = messages[index].map { conversation.answer(to: $0.pointee.msg_style) } ?? .unknownStyle
        switch answer {
        case .text(let text):
            replies[index].resp = text
        case .none:
            break
        case .outOfMemory, .unknownStyle:
            discard(replies, count: index)
            return answer.isOutOfMemory ? PAM_BUF_ERR : PAM_CONV_ERR
        }
    }
    responses.pointee = replies
    return PAM_SUCCESS
}

/// PAM's `PAM_FAIL_DELAY` callback: records the delay instead of sleeping, because the caller pauses the client
/// asynchronously after a failure and a sleeping thread would be a thread of the bounded set lost for that long.
func pamRecordFailureDelay(_ status: Int32, _ delay: UInt32, _ appdata: UnsafeMutableRawPointer?) {
    guard let appdata else { return }
    Unmanaged<PAMConversation>.fromOpaque(appdata).takeUnretainedValue().recordFailureDelay(delay)
}

extension PAMConversation.Answer {
    fileprivate var isOutOfMemory: Bool {
        if case .outOfMemory = self { return true }
        return false
    }
}

/// Zeroes and frees the first `count` answers of `replies`, then `replies`.
private func discard(_ replies: UnsafeMutablePointer<pam_response>, count: Int) {
    for index in 0..<count {
        guard let text = replies[index].resp else { continue }
        memset(text, 0, strlen(text))
        free(text)
    }
    free(replies)
}
