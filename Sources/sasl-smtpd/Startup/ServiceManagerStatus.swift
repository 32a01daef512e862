import Logging
import ServerKit
import ServiceLifecycle

/// What the daemon tells systemd in a `Type=notify` unit: ready once every listener is bound and privileges are
/// dropped, reloading while a SIGHUP is handled (then ready again), stopping as soon as a graceful stop begins.
///
/// Run as the last service of the group: the group shuts its services down last to first, so this one sees the stop
/// before any listener closes. Without `$NOTIFY_SOCKET` every call does nothing. A notification that cannot be sent
/// is logged and the daemon goes on: systemd then times the start out by itself, which is the failure to show.
struct ServiceManagerStatus: Service {
    let notifier: ServiceManagerNotifier?
    let logger: Logger

    func run() async throws {
        guard notifier != nil else { return }
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is ending without a graceful stop
        }
        report("STOPPING=1") { notifier throws(ServiceManagerNotifierError) in try notifier.stopping() }
    }

    /// Start-up or a reload is complete.
    func ready() {
        report("READY=1") { notifier throws(ServiceManagerNotifierError) in try notifier.ready() }
    }

    /// A reload begins.
    func reloading() {
        report("RELOADING=1") { notifier throws(ServiceManagerNotifierError) in try notifier.reloading() }
    }

    private func report(
        _ state: String,
        _ send: (ServiceManagerNotifier) throws(ServiceManagerNotifierError) -> Void
    ) {
        guard let notifier else { return }
        do throws(ServiceManagerNotifierError) {
            try send(notifier)
        } catch {
            logger.error(
                "service manager notification failed",
                metadata: ["state": .string(state), "detail": "\(error)"]
            )
        }
    }
}
