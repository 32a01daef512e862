/// The version of this package, the one string every executable (`sasldb --version`, `sasl-smtpd --version`) prints.
package enum PackageVersion {
    /// `MAJOR.MINOR.PATCH`.
    package static let text = "0.1.0"
}
