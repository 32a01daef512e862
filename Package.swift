// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sasldb",
    products: [
        .library(name: "SASLDB", targets: ["SASLDB"]),
        .library(name: "SASLMechanisms", targets: ["SASLMechanisms"]),
        .executable(name: "sasldb", targets: ["sasldb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
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
        .target(name: "CSystemShims"),
        .target(
            name: "SASLDB",
            dependencies: ["CGDBM", "CBerkeleyDB", "CCrypto", "CSystemShims"]
        ),
        .target(
            name: "SASLMechanisms",
            dependencies: ["SASLDB", "CIDN"]
        ),
        .executableTarget(
            name: "sasldb",
            dependencies: [
                "SASLDB",
                "SASLMechanisms",
                "CSystemShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SASLDBTests",
            dependencies: ["SASLDB"]
        ),
        .testTarget(
            name: "SASLMechanismsTests",
            dependencies: ["SASLMechanisms", "SASLDB"]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["SASLDB"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
