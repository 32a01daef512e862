/// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
///
/// Checked without building a `String`, which for a password would be one more copy that nobody can zero.
package func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
    var iterator = bytes.makeIterator()
    var decoder = Unicode.UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
