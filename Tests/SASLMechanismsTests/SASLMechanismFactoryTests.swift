import SASLDB
import XCTest

@testable import SASLMechanisms

/// The one table of implemented mechanisms: the factory makes exactly its rows, and the default policy enables the
/// rows that need no channel binding.
final class SASLMechanismFactoryTests: XCTestCase {
    private var context: SASLServerContext {
        get throws { try MechanismFixture().context }
    }

    func testTheTableListsEveryMechanismOnceStrongestFirst() {
        XCTAssertEqual(
            SASLMechanismFactory.names,
            [
                "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5",
                "PLAIN", "LOGIN",
            ]
        )
        XCTAssertEqual(Set(SASLMechanismFactory.names).count, SASLMechanismFactory.names.count)
    }

    func testOnlyThePLUSVariantsNeedChannelBinding() {
        let binding = SASLMechanismFactory.implemented.filter(\.needsChannelBinding).map(\.name)
        XCTAssertEqual(binding, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
    }

    func testTheDefaultPolicyEnablesTheRowsWithoutChannelBinding() {
        XCTAssertEqual(
            MechanismPolicy.all,
            ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"]
        )
        XCTAssertEqual(MechanismPolicy().enabled, MechanismPolicy.all)
    }

    func testTheFactoryMakesEveryRowByItsNameInAnyCase() throws {
        for name in SASLMechanismFactory.names {
            for spelling in [name, name.lowercased()] {
                let mechanism = try XCTUnwrap(SASLMechanismFactory.make(spelling, context: try context), spelling)
                XCTAssertEqual(type(of: mechanism).name, name)
                XCTAssertEqual(SASLMechanismFactory.mechanism(named: spelling)?.name, name)
            }
        }
    }

    func testAnUnknownNameMakesNothing() throws {
        for name in ["NTLM", "GSSAPI", "SCRAM-SHA-512", "", "PLAIN "] {
            XCTAssertNil(SASLMechanismFactory.make(name, context: try context), name)
            XCTAssertNil(SASLMechanismFactory.mechanism(named: name), name)
        }
    }

    func testTheFactoryPassesItsSettingsOn() throws {
        var scram = try XCTUnwrap(SASLMechanismFactory.make("SCRAM-SHA-256", context: try context, scramIterations: 77))
        guard case .challenge(let serverFirst) = scram.step(Array("n,,n=nobody,r=abc".utf8)) else {
            return XCTFail("no server-first message")
        }
        XCTAssertTrue(String(decoding: serverFirst, as: UTF8.self).hasSuffix(",i=77"))

        let bindings = [SCRAMChannelBinding.tlsExporter([UInt8](repeating: 1, count: 32))]
        var plus = try XCTUnwrap(
            SASLMechanismFactory.make("SCRAM-SHA-256-PLUS", context: try context, channelBindings: bindings)
        )
        guard case .challenge = plus.step(Array("p=tls-exporter,,n=nobody,r=abc".utf8)) else {
            return XCTFail("the -PLUS variant did not get the connection's bindings")
        }

        // DIGEST-MD5 checks the host of digest-uri only with the default setting.
        let otherHost = try digestAnswer(naming: "smtp/other.example", hosts: .hostNameOnly)
        guard case .failure(.malformed) = otherHost else { return XCTFail("another host was accepted: \(otherHost)") }
        let anyHost = try digestAnswer(naming: "smtp/other.example", hosts: .any)
        guard case .failure(.authenticationFailed) = anyHost else { return XCTFail("the host was checked: \(anyHost)") }
    }

    /// The answer of a factory-made DIGEST-MD5 to a digest-response with a wrong digest and `digestURI`.
    private func digestAnswer(naming digestURI: String, hosts: DigestMD5Mechanism.AcceptedHosts) throws -> SASLStep {
        var mechanism = try XCTUnwrap(SASLMechanismFactory.make("DIGEST-MD5", context: try context, digestHosts: hosts))
        guard case .challenge(let challenge) = mechanism.step(nil) else { return .failure(.cancelled) }
        let text = String(decoding: challenge, as: UTF8.self)
        let nonce = try XCTUnwrap(text.split(separator: "nonce=\"").last?.split(separator: "\"").first)
        let response =
            "username=\"alice\",realm=\"example.org\",nonce=\"\(nonce)\",nc=00000001,cnonce=\"abcdef\","
            + "digest-uri=\"\(digestURI)\",response=00112233445566778899aabbccddeeff,qop=auth"
        return mechanism.step(Array(response.utf8))
    }
}
