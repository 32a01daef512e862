import SASLDB
import XCTest

@testable import ServerKit

/// The `tls-server-end-point` hash choice of RFC 5929 §4.1, on hand-made certificate skeletons.
final class TLSServerEndPointTests: XCTestCase {
    func testSignatureHashesMapAsRFC5929Says() throws {
        // A hand-made DER skeleton: SEQUENCE { SEQUENCE {}, SEQUENCE { OID } }.
        func certificate(oid: [UInt8]) -> [UInt8] {
            let algorithm: [UInt8] = [0x30, UInt8(oid.count + 2), 0x06, UInt8(oid.count)] + oid
            let body: [UInt8] = [0x30, 0x00] + algorithm
            return [0x30, UInt8(body.count)] + body
        }
        let rsa: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01]
        let ecdsa: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03]
        XCTAssertEqual(TLSServerEndPoint.signatureHash(ofCertificate: certificate(oid: rsa + [0x05])), .sha256)
        XCTAssertEqual(TLSServerEndPoint.signatureHash(ofCertificate: certificate(oid: rsa + [0x04])), .sha256)
        XCTAssertEqual(TLSServerEndPoint.signatureHash(ofCertificate: certificate(oid: rsa + [0x0C])), .sha384)
        XCTAssertEqual(TLSServerEndPoint.signatureHash(ofCertificate: certificate(oid: ecdsa + [0x04])), .sha512)
        XCTAssertNil(TLSServerEndPoint.signatureHash(ofCertificate: certificate(oid: [0x2B, 0x65, 0x70])))
        XCTAssertNil(TLSServerEndPoint.signatureHash(ofCertificate: [0x30, 0x05, 0x30]))
    }
}
