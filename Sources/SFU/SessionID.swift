/// LiveKit-style identifiers: a type prefix and 12 random base62 characters.
///
/// Real LiveKit clients check the prefixes (the Rust SDK panics on a sid without one), so the
/// prefix is part of the wire contract, not decoration.
public enum SessionID {
    public static let roomPrefix = "RM_"
    public static let participantPrefix = "PA_"
    public static let trackPrefix = "TR_"
    public static let egressPrefix = "EG_"

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public static func make(prefix: String, length: Int = 12) -> String {
        var rng = SystemRandomNumberGenerator()
        var s = prefix
        for _ in 0..<length { s.append(alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))]) }
        return s
    }

    public static func room() -> String { make(prefix: roomPrefix) }
    public static func participant() -> String { make(prefix: participantPrefix) }
    public static func track() -> String { make(prefix: trackPrefix) }
    public static func egress() -> String { make(prefix: egressPrefix) }
}
