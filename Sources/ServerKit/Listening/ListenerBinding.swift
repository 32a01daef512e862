import NIOCore

extension ListenerLifecycle {
    /// Binds a server's listeners all or none: `body` appends each channel it binds; when it throws, the channels
    /// already bound are closed again before the error goes on, so no service runs on part of its configuration and no
    /// port or socket stays held by a server that failed to start.
    package static func bindAllOrNone(
        _ body: (inout [any Channel]) async throws -> Void
    ) async throws -> [any Channel] {
        var channels: [any Channel] = []
        do {
            try await body(&channels)
        } catch {
            await closeAll(channels)
            throw error
        }
        return channels
    }

    /// Closes every channel, ignoring those already closed.
    package static func closeAll(_ channels: [any Channel]) async {
        for channel in channels { try? await channel.close() }
    }
}
