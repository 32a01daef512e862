import SASLClient
import SASLDB
import SASLMechanisms
import XCTest

/// Each client mechanism against our server mechanism of the same name, on an in-memory store.
final class ClientMechanismExchangeTests: XCTestCase {
    private let login = "alice@example.org"
    private let password = "correct horse battery"

    func testEveryMechanismLogsInWithAStoredPlaintext() throws {
        let server = try ClientExchange(users: [(login, password, plaintextOnly)])
        for mechanism in SASLClientFactory.supported {
            XCTAssertEqual(
                try server.run(mechanism, user: login, password: password),
                .success(AuthenticatedIdentity(user: try server.user(login))),
                mechanism
            )
        }
    }

    func testEveryMechanismButDigestLogsInWithVerifiersOnly() throws {
        for hash in SCRAMHash.allCases {
            let server = try ClientExchange(users: [(login, password, verifiersOnly(hash))])
            for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5", hash.mechanismName] {
                XCTAssertEqual(
                    try server.run(mechanism, user: login, password: password),
                    .success(AuthenticatedIdentity(user: try server.user(login))),
                    mechanism
                )
            }
        }
    }

    func testDigestMD5LogsInWithTheStoredHashWhenTheLoginHasNoRealm() throws {
        // The stored hash is MD5(authid:realm:password): only a username without `@` answering the offered realm
        // reproduces it (see DigestMD5Mechanism).
        let server = try ClientExchange(users: [(login, password, verifiersOnly())])
        XCTAssertEqual(
            try server.run("DIGEST-MD5", user: "alice", password: password),
            .success(AuthenticatedIdentity(user: try server.user(login)))
        )
    }

    func testEveryMechanismIsRefusedAWrongPassword() throws {
        for policy in [plaintextOnly, verifiersOnly()] {
            let server = try ClientExchange(users: [(login, password, policy)])
            for mechanism in SASLClientFactory.supported {
                let step = try server.run(mechanism, user: login, password: "wrong " + password)
                guard case .failure(.authenticationFailed) = step else {
                    return XCTFail("\(mechanism) with \(policy): \(step)")
                }
            }
        }
    }

    func testEveryMechanismIsRefusedForAnUnknownUser() throws {
        let server = try ClientExchange(users: [(login, password, plaintextOnly)])
        for mechanism in SASLClientFactory.supported {
            let step = try server.run(mechanism, user: "bob@example.org", password: password)
            guard case .failure(.authenticationFailed) = step else { return XCTFail("\(mechanism): \(step)") }
        }
    }

    func testPlainSendsTheAuthorizationIdentityItIsGiven() throws {
        let server = try ClientExchange(users: [(login, password, plaintextOnly)])
        let client = PlainClient(
            credentials: SASLClientCredentials(user: login, password: password),
            authorizationID: "postmaster@example.org"
        )
        // Our server allows no other identity unless told to: the client did send it.
        XCTAssertEqual(
            try server.run(client),
            .failure(.authorizationDenied(reason: "alice@example.org may not act as another identity"))
        )
    }
}
