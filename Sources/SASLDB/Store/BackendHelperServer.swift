/// The helper-process side of ``BackendWire``: answers each request with the backend's result or error, until the
/// input ends.
package struct BackendHelperServer {
    private let backend: any CredentialBackend
    private let input: Int32
    private let output: Int32

    /// A server for `backend` reading requests from `input` and writing responses to `output`.
    package init(backend: any CredentialBackend, input: Int32, output: Int32) {
        self.backend = backend
        self.input = input
        self.output = output
    }

    /// Serves until the input ends.
    ///
    /// - Throws: ``SASLDBError`` when the pipe breaks or a request is malformed.
    package func serve() throws {
        while let frame = try WireFrames.read(from: input, name: "standard input") {
            let request = try BackendWire.decodeRequest(frame)
            let response: [UInt8]
            do {
                response = try answer(request)
            } catch let error as SASLDBError {
                response = BackendWire.failure(error)
            } catch {
                response = BackendWire.failure(.backend(path: "backend helper", detail: "\(error)"))
            }
            try WireFrames.write(response, to: output, name: "standard output")
        }
    }

    private func answer(_ request: BackendWire.Request) throws -> [UInt8] {
        switch request {
        case .fetch(let user, let properties):
            let found = try backend.fetch(user, properties: properties)
            return BackendWire.success { out in
                out.count(found.count)
                for (property, value) in found {
                    out.bytes(property.bytes)
                    out.bytes(value)
                }
            }
        case .records:
            let records = try backend.records()
            return BackendWire.success { out in
                out.count(records.count)
                for record in records {
                    out.bytes(record.key.bytes)
                    out.bytes(record.value)
                }
            }
        case .recordKeys:
            let keys = try backend.recordKeys()
            return BackendWire.success { out in
                out.count(keys.count)
                keys.forEachKey { out.bytes(Array($0)) }
            }
        case .apply(let batch):
            try backend.apply(batch)
            return BackendWire.success { _ in }
        case .initializeSchema:
            guard let server = backend as? any ServerBackend else {
                throw SASLDBError.backend(path: "backend helper", detail: "this store has no tables to initialize")
            }
            let result = try server.initializeSchema()
            return BackendWire.success { $0.schemaInitialization(result) }
        }
    }
}
