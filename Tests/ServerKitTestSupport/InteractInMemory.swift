import NIOCore
import NIOEmbedded

/// Moves bytes between two embedded channels until neither has anything to send (the swift-nio-ssl tests' helper).
package func interactInMemory(_ first: EmbeddedChannel, _ second: EmbeddedChannel) throws {
    var quiet = false
    var rounds = 0
    while !quiet {
        rounds += 1
        guard rounds < 1000 else { throw TestSupportError("the channels kept talking") }
        // swift-nio-ssl completes a custom private key's operation (the server's RSA key) in an event-loop task.
        first.embeddedEventLoop.run()
        second.embeddedEventLoop.run()
        quiet = true
        if let data = try first.readOutbound(as: ByteBuffer.self) {
            quiet = false
            try second.writeInbound(data)
        }
        if let data = try second.readOutbound(as: ByteBuffer.self) {
            quiet = false
            try first.writeInbound(data)
        }
    }
}
