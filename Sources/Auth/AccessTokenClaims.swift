/// The claims of a LiveKit access token (a JWT signed with HS256).
///
/// `iss` is the API key that signed the token, `sub` the participant identity. Times are Unix
/// seconds. Unknown claims are ignored so newer SDKs' tokens still verify.
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    public var iss: String
    public var sub: String?
    public var nbf: Double?
    public var exp: Double?
    public var jti: String?
    public var name: String?
    public var metadata: String?
    public var attributes: [String: String]?
    public var kind: String?
    public var sha256: String?
    public var video: VideoGrant?

    public init(
        apiKey: String, identity: String? = nil, notBefore: Double? = nil, expires: Double? = nil,
        name: String? = nil, metadata: String? = nil, attributes: [String: String]? = nil,
        kind: String? = nil, sha256: String? = nil, video: VideoGrant? = nil
    ) {
        self.iss = apiKey
        self.sub = identity
        self.nbf = notBefore
        self.exp = expires
        self.jti = identity
        self.name = name
        self.metadata = metadata
        self.attributes = attributes
        self.kind = kind
        self.sha256 = sha256
        self.video = video
    }

    public var identity: String { sub ?? "" }
    public var grant: VideoGrant { video ?? VideoGrant() }
}
