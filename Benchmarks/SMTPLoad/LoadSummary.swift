/// The outcome of a run (or of its set-up phase when sessions are held): counts, failures by reason, latencies.
struct LoadSummary: Sendable {
    var launched = 0
    var succeeded = 0
    var held = 0
    var failed = 0
    /// Failures by reason (the first 20 distinct reasons; the rest as "other").
    var reasons: [String: Int] = [:]
    /// Session latencies in nanoseconds: connect to the `221` (or to being held).
    var latencies: [Int64] = []
    /// Whether the deadline passed before every session ended.
    var expired = false

    /// The `p`-th percentile (0–100) of the latencies in milliseconds, nearest rank; 0 when there are none.
    func latencyMilliseconds(percentile p: Double) -> Double {
        let sorted = latencies.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1e6
    }

    mutating func addFailure(_ reason: String) {
        failed += 1
        let key = reasons[reason] != nil || reasons.count < 20 ? reason : "other"
        reasons[key, default: 0] += 1
    }
}
