/// LiveKit's Twirp services that Sluice does not run. LiveKit's server SDKs have a client for each
/// (the Node SDK's IngressClient, SipClient, AgentDispatchClient, ConnectorClient); a call answers
/// Twirp's `unimplemented` with the reason, which the SDKs surface as a TwirpError with code
/// "unimplemented", instead of `bad_route` for a service that does not exist.
enum UnservedServices {
    static let routers: [TwirpRouter] = [
        TwirpRouter(service: "livekit.Ingress", unservedService: "ingress (RTMP/WHIP/URL input through LiveKit's ingress "
                    + "service) is not run; publish over WHIP at /whip/{room} instead"),
        TwirpRouter(service: "livekit.SIP", unservedService: "SIP trunks and dispatch are not supported"),
        TwirpRouter(service: "livekit.AgentDispatchService", unservedService: "agent dispatch is not supported"),
        TwirpRouter(service: "livekit.Connector", unservedService: "connectors are not supported"),
    ]
}
