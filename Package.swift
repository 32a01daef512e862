// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sasldb",
    products: [
        .library(name: "SASLDB", targets: ["SASLDB"]),
        .library(name: "SASLMechanisms", targets: ["SASLMechanisms"]),
        .library(name: "ServerKit", targets: ["ServerKit"]),
        .library(name: "SMTPSubmission", targets: ["SMTPSubmission"]),
        .library(name: "PasswordChange", targets: ["PasswordChange"]),
        .library(name: "PasswordService", targets: ["PasswordService"]),
        .library(name: "AuthService", targets: ["AuthService"]),
        .library(name: "SASLClient", targets: ["SASLClient"]),
        .library(name: "PAMAuthentication", targets: ["PAMAuthentication"]),
        .library(name: "SASLDBPostgres", targets: ["SASLDBPostgres"]),
        .executable(name: "sasl-smtpd", targets: ["sasl-smtpd"]),
        .executable(name: "sasldb", targets: ["sasldb"]),
        .executable(name: "sasldb-postgres", targets: ["sasldb-postgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CGDBM",
            providers: [.apt(["libgdbm-dev"])]
        ),
        .systemLibrary(
            name: "CBerkeleyDB",
            providers: [.apt(["libdb5.3-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CIDN",
            providers: [.apt(["libidn-dev"])]
        ),
        .systemLibrary(
            name: "CPAM",
            providers: [.apt(["libpam0g-dev"])]
        ),
        .target(name: "CSystemShims"),
        .target(name: "CBerkeleyDBShims", dependencies: ["CBerkeleyDB"]),
        .target(
            name: "SASLDB",
            dependencies: ["CGDBM", "CBerkeleyDB", "CBerkeleyDBShims", "CCrypto", "CSystemShims"]
        ),
        .target(
            name: "SASLDBPostgres",
            dependencies: [
                "SASLDB",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "SASLMechanisms",
            dependencies: ["SASLDB", "CIDN"]
        ),
        .target(
            name: "SASLClient",
            dependencies: ["SASLDB"]
        ),
        .target(
            name: "ServerKit",
            dependencies: [
                "SASLDB",
                "CCrypto",
                "CSystemShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PAMAuthentication",
            dependencies: ["CPAM", "SASLDB", "SASLMechanisms", "ServerKit"]
        ),
        .target(
            name: "SMTPSubmission",
            dependencies: [
                "SASLDB",
                "SASLMechanisms",
                "SASLClient",
                "ServerKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PasswordChange",
            dependencies: ["SASLDB", "SASLMechanisms"]
        ),
        .target(
            name: "PasswordService",
            dependencies: [
                "PasswordChange",
                "ServerKit",
                "SASLDB",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "AuthService",
            dependencies: [
                "SASLDB",
                "SASLMechanisms",
                "ServerKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "sasl-smtpd",
            dependencies: [
                "SMTPSubmission",
                "ServerKit",
                "PasswordChange",
                "PasswordService",
                "PAMAuthentication",
                "AuthService",
                "SASLDB",
                "SASLMechanisms",
                "SASLClient",
                "SASLDBPostgres",
                "CSystemShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "sasldb",
            dependencies: [
                "SASLDB",
                "PasswordChange",
                "SASLMechanisms",
                "CSystemShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "sasldb-postgres",
            dependencies: ["SASLDB", "SASLDBPostgres"]
        ),
        .executableTarget(
            name: "sasl-mechanism-bench",
            dependencies: ["SASLDB", "SASLMechanisms", "SASLClient"],
            path: "Benchmarks/MechanismBenchmark"
        ),
        .executableTarget(
            name: "smtp-load",
            dependencies: [
                "SASLDB",
                "SASLClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Benchmarks/SMTPLoad"
        ),
        .executableTarget(
            name: "EmbeddedSubmission",
            dependencies: [
                "SMTPSubmission",
                "ServerKit",
                "SASLDB",
                "SASLMechanisms",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/EmbeddedSubmission"
        ),
        .testTarget(
            name: "SASLDBTests",
            dependencies: ["SASLDB"]
        ),
        .testTarget(
            name: "SASLDBPostgresTests",
            dependencies: ["SASLDBPostgres", "SASLDB", "ServerKitTestSupport"]
        ),
        .testTarget(
            name: "ExternalBackendTests",
            dependencies: ["SASLDB"]
        ),
        .testTarget(
            name: "SASLMechanismsTests",
            dependencies: ["SASLMechanisms", "SASLDB"]
        ),
        .target(
            name: "ServerKitTestSupport",
            dependencies: [
                "ServerKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/ServerKitTestSupport"
        ),
        .testTarget(
            name: "ServerKitTests",
            dependencies: [
                "ServerKit",
                "ServerKitTestSupport",
                "CCrypto",
                "SASLDB",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "SMTPSubmissionTests",
            dependencies: [
                "SMTPSubmission",
                "SASLClient",
                "ServerKit",
                "ServerKitTestSupport",
                "SASLMechanisms",
                "SASLDB",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PAMAuthenticationTests",
            dependencies: ["PAMAuthentication", "CPAM"]
        ),
        .testTarget(
            name: "SASLClientTests",
            dependencies: ["SASLClient", "SASLMechanisms", "SASLDB"]
        ),
        .testTarget(
            name: "PasswordChangeTests",
            dependencies: ["PasswordChange", "SASLMechanisms", "SASLDB"]
        ),
        .testTarget(
            name: "PasswordServiceTests",
            dependencies: [
                "PasswordService",
                "PasswordChange",
                "ServerKit",
                "ServerKitTestSupport",
                "SMTPSubmission",
                "SASLMechanisms",
                "SASLDB",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AuthServiceTests", dependencies: ["AuthService", "SASLDB", "SASLMechanisms", "ServerKit", "ServerKitTestSupport"]),
        .testTarget(
            name: "InteropTests",
            dependencies: ["SASLDB"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
