#if canImport(Glibc)
import Glibc
#endif

/// How one command that writes makes a new database file and waits for other writers: choices of the run, not of the
/// site, so they sit beside the ``StoreConfiguration`` rather than in it.
public struct StoreWriteOptions: Sendable, Equatable {
    /// The group of a file the store creates; `nil` leaves the creator's group and mode 0600.
    public var newFileGroup: gid_t?
    /// Whether a created file with a group is 0660 (Debian's `root:sasl`) instead of 0640.
    public var newFileGroupWritable = false
    /// How long a writer waits for another writer before failing with "database busy".
    public var lockTimeoutMilliseconds = 10_000

    /// The defaults: no group (0600), 10 s writer timeout.
    public init() {}
}
