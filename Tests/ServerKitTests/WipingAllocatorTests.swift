import NIOCore
import XCTest

@testable import ServerKit

/// The wiping allocator behaves as the default one for every use NIO makes of it: buffers that grow keep their
/// bytes, copies stay apart, slices read the same. (That released memory holds no password is searched for in a
/// running daemon by `SecretResidueTests`.)
final class WipingAllocatorTests: XCTestCase {
    func testGrowingBufferKeepsItsBytes() {
        var buffer = ByteBufferAllocator.wipingReleasedMemory.buffer(capacity: 16)
        var expected: [UInt8] = []
        for round in 0..<2_000 {
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 1 + round % 97)
            buffer.writeBytes(chunk)
            expected += chunk
        }
        XCTAssertGreaterThan(buffer.capacity, 16)
        XCTAssertEqual(buffer.readBytes(length: buffer.readableBytes), expected)
    }

    func testCopiesAndSlicesStayApart() {
        var original = ByteBufferAllocator.wipingReleasedMemory.buffer(string: "newpass Fresh-horse-31\r\n")
        let copy = original
        let slice = original.getSlice(at: 8, length: 14)
        original.setString("XXXXXXXXXXXXXXXXXXXXXXXX", at: 0)
        XCTAssertEqual(String(buffer: copy), "newpass Fresh-horse-31\r\n")
        XCTAssertEqual(slice.map { String(buffer: $0) }, "Fresh-horse-31")
        XCTAssertEqual(String(buffer: original), "XXXXXXXXXXXXXXXXXXXXXXXX")
    }

    func testShrinkingAndDiscardingKeepTheReadableBytes() {
        var buffer = ByteBufferAllocator.wipingReleasedMemory.buffer(capacity: 4_096)
        buffer.writeString(String(repeating: "a", count: 3_000) + "tail")
        buffer.moveReaderIndex(forwardBy: 3_000)
        XCTAssertTrue(buffer.discardReadBytes())
        XCTAssertEqual(String(buffer: buffer), "tail")
        buffer.writeBytes([UInt8](repeating: 0x62, count: 10_000))
        XCTAssertEqual(buffer.readableBytes, 10_004)
        XCTAssertEqual(buffer.getString(at: buffer.readerIndex, length: 5), "tailb")
    }
}
