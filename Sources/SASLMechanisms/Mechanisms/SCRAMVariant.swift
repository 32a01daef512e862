import SASLDB

/// One member of the SCRAM family: its hash and whether it is the channel-binding (`-PLUS`) variant.
public protocol SCRAMVariant: Sendable {
    /// The hash of the mechanism.
    static var hash: SCRAMHash { get }
    /// Whether this is the `-PLUS` variant, which requires channel binding (RFC 5802 §6).
    static var usesChannelBinding: Bool { get }
}

/// SCRAM-SHA-1 (RFC 5802).
public enum SCRAMSHA1: SCRAMVariant {
    public static var hash: SCRAMHash { .sha1 }
    public static var usesChannelBinding: Bool { false }
}

/// SCRAM-SHA-256 (RFC 7677).
public enum SCRAMSHA256: SCRAMVariant {
    public static var hash: SCRAMHash { .sha256 }
    public static var usesChannelBinding: Bool { false }
}

/// SCRAM-SHA-1-PLUS (RFC 5802 with channel binding).
public enum SCRAMSHA1Plus: SCRAMVariant {
    public static var hash: SCRAMHash { .sha1 }
    public static var usesChannelBinding: Bool { true }
}

/// SCRAM-SHA-256-PLUS (RFC 7677 with channel binding).
public enum SCRAMSHA256Plus: SCRAMVariant {
    public static var hash: SCRAMHash { .sha256 }
    public static var usesChannelBinding: Bool { true }
}
