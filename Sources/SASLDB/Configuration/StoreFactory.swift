import Synchronization

/// The one place that turns a ``StoreConfiguration`` into a store: every command, personality, the daemon and its
/// password writer get their store here, so the site's settings (which store, secrets, iterations) hold for all.
///
/// A test fails when code outside this file constructs a ``FileBackend``, or a PostgreSQL backend outside its provider.
public enum StoreFactory {
    private static let external = Mutex<(any ExternalBackendProvider)?>(nil)

    /// Makes every PostgreSQL store of this process with `provider`: a program that links a database backend calls
    /// this once at startup, before making any store. Without it (or after `nil`) a PostgreSQL store fails on every
    /// call, saying so.
    public static func install(_ provider: (any ExternalBackendProvider)?) {
        external.withLock { $0 = provider }
    }

    /// The backend `configuration` names.
    ///
    /// Nothing is opened: a file backend opens the file per call and closes it again.
    public static func makeBackend(
        _ configuration: StoreConfiguration,
        writing: StoreWriteOptions = StoreWriteOptions()
    ) -> any CredentialBackend {
        switch configuration.location {
        case .file(let path):
            var options = FileBackendOptions()
            options.newFileFormat = configuration.newFileFormat
            options.newFileGroup = writing.newFileGroup
            options.newFileGroupWritable = writing.newFileGroupWritable
            options.lockTimeoutMilliseconds = writing.lockTimeoutMilliseconds
            return FileBackend(path: path, options: options)
        case .postgres(let location):
            guard let provider = external.withLock({ $0 }) else {
                return UnsupportedBackend(
                    error: .backend(path: location.displayName, detail: "this program was built without PostgreSQL")
                )
            }
            return provider.makeBackend(location)
        }
    }

    /// A store over the backend `configuration` names that writes the secrets its policy asks for.
    public static func makeStore(
        _ configuration: StoreConfiguration,
        writing: StoreWriteOptions = StoreWriteOptions()
    ) -> CredentialStore {
        CredentialStore(backend: makeBackend(configuration, writing: writing), policy: configuration.secretPolicy)
    }
}
