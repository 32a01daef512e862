import Foundation
import ServerKit
import XCTest

/// A self-signed certificate made with the openssl CLI into a temporary directory, once per test process.
package enum TestCertificate {
    package struct Files: Sendable {
        package var directory: URL
        package var certificatePath: String
        package var keyPath: String
    }

    private static let made: Result<Files, TestSupportError> = {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "server-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
            )
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            return .failure(TestSupportError("cannot create \(directory.path): \(error)"))
        }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let result = ProcessRunner.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                "-keyout", key, "-out", certificate, "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,DNS:mail.example.org,IP:127.0.0.1",
            ],
            timeout: 60
        )
        guard result.status == 0 else {
            return .failure(TestSupportError("openssl req failed: \(result.standardError)"))
        }
        return .success(Files(directory: directory, certificatePath: certificate, keyPath: key))
    }()

    /// The certificate and key files (RSA-2048, SHA-256, CN and SAN localhost / mail.example.org / 127.0.0.1).
    package static func files() throws -> Files {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("the openssl CLI is not installed")
        }
        return try made.get()
    }

    package static func configuration() throws -> ServerTLSConfiguration {
        let files = try files()
        return ServerTLSConfiguration(certificateChainPath: files.certificatePath, privateKeyPath: files.keyPath)
    }

    package static func material() throws -> ServerTLSMaterial {
        try ServerTLSMaterial(configuration())
    }
}
