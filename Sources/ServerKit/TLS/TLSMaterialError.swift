/// Why a ``ServerTLSMaterial`` could not be loaded: the certificate chain or the private key cannot be read, or they
/// do not form a usable TLS context. `description` is an actionable sentence with the detail (a path, the underlying
/// error), never key material.
package struct TLSMaterialError: Error, Sendable, CustomStringConvertible {
    /// What failed: the path and the reason.
    package var detail: String

    /// Creates an error with its detail.
    package init(_ detail: String) {
        self.detail = detail
    }

    package var description: String {
        "the TLS certificate chain or private key cannot be used; check the PEM files and that the key matches: \(detail)"
    }
}
