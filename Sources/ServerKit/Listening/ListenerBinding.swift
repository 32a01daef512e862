import NIOCore

extension ListenerLifecycle {
    /// Starts the server's listening life and binds its listeners through `bind`; a failure to bind ends that life
    /// (whoever waits for the addresses gets the error) and is rethrown.
    ///
    /// - Throws: `alreadyStarted` when the server was started before, else what `bind` threw.
    package func bind(
        alreadyStarted: any Error,
        _ bind: () async throws -> [any Channel]
    ) async throws -> [any Channel] {
        guard start() else { throw alreadyStarted }
        do {
            return try await bind()
        } catch {
            finish(error: error)
            throw error
        }
    }

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
