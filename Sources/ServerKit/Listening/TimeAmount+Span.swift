import NIOCore

extension TimeAmount {
    /// The same span as `duration`, in nanoseconds (saturating): the services keep their limits as `Duration` and
    /// schedule their timeouts on an event loop.
    package static func span(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return .nanoseconds(overflow ? .max : whole &+ attoseconds / 1_000_000_000)
    }
}
