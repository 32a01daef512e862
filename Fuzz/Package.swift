// swift-tools-version:6.0
// libFuzzer targets for the parsers of the root package. A separate package, so the root `swift build` never sees
// it; build and run it with scripts/fuzz.sh (see README.md here).
import PackageDescription

/// One executable per fuzz target; each exports `LLVMFuzzerTestOneInput` and `<Target>_main` (see FuzzSupport).
let fuzzTargets = [
    "FuzzPlainLogin",
    "FuzzCRAMMD5",
    "FuzzDigestMD5",
    "FuzzSCRAM",
    "FuzzSCRAMFirst",
    "FuzzDumpFormat",
    "FuzzPasswordList",
    "FuzzRecords",
    "FuzzSMTPSession",
    "FuzzDovecotAuth",
    "FuzzSaslauthdRequest",
    "FuzzPostgresLocation",
]

/// Targets that also drive the SMTP submission session (and so link SMTPSubmission, with its NIO dependencies).
let smtpTargets: Set<String> = ["FuzzSMTPSession"]

/// Targets that drive a state machine or parser of the authentication sockets (and so link AuthService).
let authTargets: Set<String> = ["FuzzDovecotAuth", "FuzzSaslauthdRequest"]

let package = Package(
    name: "sasldb-fuzz",
    dependencies: [
        .package(name: "sasldb", path: "..")
    ],
    targets: [
        // libFuzzer's driver entry point and the OpenSSL digests the harnesses compute proofs with.
        .systemLibrary(name: "CFuzzSupport", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CFuzzSupport",
                .product(name: "SASLDB", package: "sasldb"),
                .product(name: "SASLMechanisms", package: "sasldb"),
            ]
        ),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "SASLDB", package: "sasldb"),
                    .product(name: "SASLMechanisms", package: "sasldb"),
                ] + (smtpTargets.contains(name) ? [.product(name: "SMTPSubmission", package: "sasldb")] : [])
                    + (authTargets.contains(name) ? [.product(name: "AuthService", package: "sasldb")] : [])
            )
        },
    swiftLanguageModes: [.v6]
)
