import Foundation
import ServerKitTestSupport
import XCTest

@testable import ServerKit

/// Loading the TLS material from files and from PEM bytes, and the errors that name what cannot be used.
final class ServerTLSMaterialTests: XCTestCase {
    func testUnreadableKeyIsReportedWithItsPath() throws {
        let files = try TestCertificate.files()
        let configuration = ServerTLSConfiguration(
            certificateChainPath: files.certificatePath,
            privateKeyPath: "/nonexistent/key.pem"
        )
        XCTAssertThrowsError(try ServerTLSMaterial(configuration)) { error in
            XCTAssertTrue(error is TLSMaterialError)
            XCTAssertTrue("\(error)".contains("/nonexistent/key.pem"))
        }
    }

    func testPEMBytesLoadLikeFiles() throws {
        let files = try TestCertificate.files()
        let chain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: files.certificatePath)))
        let key = try [UInt8](Data(contentsOf: URL(fileURLWithPath: files.keyPath)))
        let material = try ServerTLSMaterial(
            ServerTLSConfiguration(source: .pem(certificateChain: chain, privateKey: key))
        )
        XCTAssertNotNil(material.tlsServerEndPoint)
        XCTAssertEqual(material.tlsServerEndPoint, try TestCertificate.material().tlsServerEndPoint)
    }
}
