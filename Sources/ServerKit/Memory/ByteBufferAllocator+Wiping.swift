import CSystemShims
@_spi(CustomByteBufferAllocator) import NIOCore

#if canImport(Glibc)
import Glibc
#endif

extension ByteBufferAllocator {
    /// An allocator that overwrites a buffer's memory with zeros before releasing it, and the old memory of a buffer
    /// that grows: for the channels of services whose clients send passwords readable on the wire (poppassd and the
    /// password socket, saslauthd, Dovecot's `PLAIN` responses).
    ///
    /// Handlers wipe the passwords they decode, but NIO reads into buffers of the channel's allocator and releases
    /// them itself, later; freed memory keeps its bytes until `malloc` hands it out again, so a password read from a
    /// socket could stay in the process for as long as nothing reuses that memory. NIO offers no hook for this other
    /// than its allocator seam (`CustomByteBufferAllocator`), whence the functions below.
    public static let wipingReleasedMemory = ByteBufferAllocator(
        allocate: { size in malloc(size) },
        reallocate: { old, oldSize, newSize in
            guard let old else { return malloc(newSize) }
            // `realloc` may move the bytes and free the old block unwiped: move them here instead.
            guard let new = malloc(newSize) else { return nil }
            memcpy(new, old, min(oldSize, newSize))
            sasldb_free_wiped(old)
            return new
        },
        deallocate: { block in sasldb_free_wiped(block) },
        copy: { destination, source, count in _ = memcpy(destination, source, count) }
    )
}
