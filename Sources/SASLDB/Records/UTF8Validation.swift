/// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
///
/// Checked without building a `String`, which for a password would be one more copy that nobody can zero. Contiguous
/// bytes (arrays, slices: every caller) are checked by one non-generic loop: the generic decoding, unspecialized
/// across modules, cost about 15,000 instructions for one AUTH PLAIN response.
package func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
    if let valid = bytes.withContiguousStorageIfAvailable(isValidUTF8(buffer:)) { return valid }
    var iterator = bytes.makeIterator()
    return isValidUTF8(decoding: &iterator)
}

private func isValidUTF8(buffer: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    // ASCII, nearly every byte the callers see, needs no decoder.
    while index < buffer.count, buffer[index] < 0x80 { index += 1 }
    guard index < buffer.count else { return true }
    var iterator = UnsafeBufferPointer(rebasing: buffer[index...]).makeIterator()
    return isValidUTF8(decoding: &iterator)
}

private func isValidUTF8<I: IteratorProtocol<UInt8>>(decoding iterator: inout I) -> Bool {
    var decoder = Unicode.UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
