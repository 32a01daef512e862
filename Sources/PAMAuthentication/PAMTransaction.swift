import CPAM

/// One PAM check of a password, start to end, on the calling thread: `pam_start`, `pam_authenticate`,
/// `pam_acct_mgmt`, `pam_end`.
///
/// The account must both know the password and be allowed to log in now (an expired or locked account fails as a
/// wrong password does). `PAM_SILENT` keeps modules from talking to a user who is not there, and
/// `PAM_DISALLOW_NULL_AUTHTOK` refuses accounts without a password. The delay modules ask for after a failure
/// (`pam_faildelay`, `pam_unix`'s `nodelay` unset) is recorded, not slept.
struct PAMTransaction {
    /// How a check ended.
    enum Verdict: Equatable {
        /// Right password, account usable.
        case accepted
        /// Wrong password, unknown account, account that may not log in: PAM's code, for the log.
        case refused(code: Int32)
        /// PAM could not decide (a module or its configuration failed, a directory is unreachable): its code.
        case unavailable(code: Int32)
    }

    /// The verdict and the failure delay PAM asked for (microseconds, `nil` for none).
    struct Outcome: Equatable {
        var verdict: Verdict
        var requestedFailureDelay: UInt32?
    }

    /// The service name: the file in `/etc/pam.d` whose stack runs.
    var service: String

    /// Checks `password` for `name`.
    func check(name: String, password: [UInt8]) -> Outcome {
        let conversation = PAMConversation(name: name, password: password)
        defer { conversation.erase() }
        let appdata = Unmanaged.passUnretained(conversation).toOpaque()
        var exchange = pam_conv(conv: pamConverse, appdata_ptr: appdata)
        var handle: OpaquePointer?
        let started = pam_start(service, name, &exchange, &handle)
        guard started == PAM_SUCCESS, let handle else {
            return Outcome(verdict: .unavailable(code: started), requestedFailureDelay: nil)
        }
        let recordDelay: @convention(c) (Int32, UInt32, UnsafeMutableRawPointer?) -> Void = pamRecordFailureDelay
        var status = pam_set_item(handle, PAM_FAIL_DELAY, unsafeBitCast(recordDelay, to: UnsafeRawPointer.self))
        if status == PAM_SUCCESS { status = pam_authenticate(handle, Self.flags) }
        if status == PAM_SUCCESS { status = pam_acct_mgmt(handle, Self.flags) }
        if status == PAM_SUCCESS, !Self.userIsUnchanged(handle, name: name) { status = PAM_PERM_DENIED }
        pam_end(handle, status)
        return withExtendedLifetime(conversation) {
            Outcome(verdict: Self.verdict(status), requestedFailureDelay: conversation.requestedFailureDelay)
        }
    }

    /// The text PAM gives for `code`, for the log (`pam_strerror` accepts a null handle on Linux-PAM).
    static func describe(_ code: Int32) -> String {
        pam_strerror(nil, code).map { String(cString: $0) } ?? "PAM error \(code)"
    }

    private static let flags = Int32(bitPattern: PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK)

    /// The codes that mean "no" about the account, as opposed to "cannot say now".
    private static let refusals: Set<Int32> = [
        PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_PERM_DENIED, PAM_CRED_INSUFFICIENT, PAM_MAXTRIES, PAM_ACCT_EXPIRED,
        PAM_NEW_AUTHTOK_REQD, PAM_AUTHTOK_EXPIRED,
    ]

    private static func verdict(_ status: Int32) -> Verdict {
        if status == PAM_SUCCESS { return .accepted }
        return refusals.contains(status) ? .refused(code: status) : .unavailable(code: status)
    }

    /// Whether the stack left `PAM_USER` as given: a module that maps it to another account (`pam_mapuser`-like)
    /// would otherwise log the client in as the name it sent while PAM checked someone else.
    private static func userIsUnchanged(_ handle: OpaquePointer, name: String) -> Bool {
        var item: UnsafeRawPointer?
        guard pam_get_item(handle, PAM_USER, &item) == PAM_SUCCESS, let item else { return false }
        return String(cString: item.assumingMemoryBound(to: CChar.self)) == name
    }
}
