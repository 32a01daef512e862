import NIOPosix
import PasswordChange

/// The in-process ``PasswordChanging``: the ``PasswordChanger`` run on a thread pool, since the store's file I/O and
/// hashing block and must stay off the event loops.
struct ThreadPoolPasswordChanger: PasswordChanging {
    /// The changer; it audits every outcome.
    let changer: PasswordChanger
    /// Where it runs.
    let threadPool: NIOThreadPool

    func change(login: [UInt8], current: [UInt8], new: [UInt8], origin: String) async throws(PasswordChangeError) {
        let outcome: PasswordChangeError?
        do {
            outcome = try await threadPool.runIfActive { () -> PasswordChangeError? in
                do throws(PasswordChangeError) {
                    try changer.change(login: login, current: current, new: new, origin: origin)
                    return nil
                } catch {
                    return error
                }
            }
        } catch {
            let failure = PasswordChangeError.unavailable(reason: "the thread pool has stopped")
            changer.recordRefusal(login: login, origin: origin, error: failure)
            throw failure
        }
        if let outcome { throw outcome }
    }
}
