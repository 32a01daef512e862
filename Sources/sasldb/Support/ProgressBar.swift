import Synchronization

/// A one-line progress bar on standard error, redrawn at most every percent.
final class ProgressBar: Sendable {
    private let total: Int
    private let shown = Mutex(-1)

    init(total: Int) { self.total = max(total, 1) }

    /// Shows that `done` items are finished; safe from any thread.
    func update(_ done: Int) {
        let percent = min(100, done * 100 / total)
        let redraw = shown.withLock { last in
            guard percent > last else { return false }
            last = percent
            return true
        }
        guard redraw else { return }
        let filled = percent / 4
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 25 - filled)
        Output.error("\r[\(bar)] \(percent)% \(min(done, total))/\(total)")
    }

    /// Ends the line.
    func finish() {
        update(total)
        Output.error("\n")
    }
}
