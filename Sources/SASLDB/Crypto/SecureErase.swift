extension Array where Element == UInt8 {
    /// Overwrites every byte with zero, for a buffer that held a password or a secret, before it is released.
    ///
    /// The store through a pointer is kept by the optimiser: the buffer is released by an opaque runtime call
    /// afterwards. On storage another copy shares, copy-on-write would zero a fresh copy instead: see
    /// ``overwriteSharedStorageWithZeros()``.
    package mutating func overwriteWithZeros() {
        withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// The same bytes in storage of their own, which a later ``overwriteSharedStorageWithZeros()`` of this array's
    /// storage does not touch (`Array(self)` would share it).
    package var separateCopy: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: self)
        }
    }

    /// Overwrites the storage this array shares with its copies, in place: for a value that travelled through
    /// several holders (a request, an action queue, a closure) and must be wiped wherever it is, once every holder is
    /// done with it. No copy may read it afterwards.
    package func overwriteSharedStorageWithZeros() {
        withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            UnsafeMutablePointer(mutating: base).update(repeating: 0, count: buffer.count)
        }
    }
}
