import Foundation
import Testing
@testable import SluiceServer

@Suite struct ICEServerDirectoryTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func iceTCPAndTURNConfigParse() throws {
        let c = try ConfigLoader.parse(yaml: """
            rtc:
              ice_tcp: true
              turn_servers:
                - host: turn.example.com
                  port: 443
                  protocol: tls
                  username: u
                  credential: p
                - host: 192.0.2.7
                  protocol: tcp
                  secret: north-wind
                  ttl: 600
            turn:
              enabled: true
              domain: turn.shop.example
              udp_port: 3478
              tls_port: 5349
              secret: s3
              credential_ttl: 120
            """)
        #expect(c.rtc.iceTCP)
        #expect(c.rtc.turnServers.count == 2)
        #expect(c.rtc.turnServers[0].transportProtocol == .tls)
        #expect(c.rtc.turnServers[1].port == 3478)
        #expect(c.rtc.turnServers[1].ttl == 600)
        #expect(c.turn.enabled && c.turn.tlsPort == 5349 && c.turn.credentialTTL == 120)
        #expect(!(try ConfigLoader.parse(yaml: "").rtc.iceTCP))
    }

    @Test func badTURNConfigIsRefusedWithTheKey() {
        func error(_ yaml: String) -> ConfigError? {
            do { _ = try ConfigLoader.parse(yaml: yaml); return nil } catch { return error as? ConfigError }
        }
        #expect(error("rtc:\n  tcp_port: 7881")?.message.contains("rtc.ice_tcp") == true)
        #expect(error("rtc:\n  tcp_port: 0") == nil)
        #expect(error("rtc:\n  turn_servers:\n    - port: 3478")?.key == "rtc.turn_servers[0].host")
        #expect(error("rtc:\n  turn_servers:\n    - host: a\n      protocol: sctp")?.key == "rtc.turn_servers[0].protocol")
        #expect(error("rtc:\n  turn_servers:\n    - host: a\n      username: u") != nil)
        #expect(error("rtc:\n  turn_servers:\n    - host: a\n      secret: s\n      username: u\n      credential: c") != nil)
        #expect(error("turn:\n  enabled: true\n  domain: t")?.key == "turn.secret")
        #expect(error("turn:\n  enabled: true\n  secret: s")?.key == "turn.domain")
        #expect(error("turn:\n  cert_file: /x")?.key == "turn.cert_file")
    }

    @Test func restServersGetPerIdentityCredentialsAndURLs() throws {
        var config = ServerConfig()
        config.turn.enabled = true
        config.turn.domain = "turn.shop.example"
        config.turn.udpPort = 3478
        config.turn.tlsPort = 5349
        config.turn.secret = "north-wind"
        config.turn.credentialTTL = 0
        var external = ServerConfig.TURNServer()
        external.host = "turn.example.com"
        external.port = 443
        external.transportProtocol = .tls
        external.username = "static"
        external.credential = "pw"
        config.rtc.turnServers = [external]
        let directory = ICEServerDirectory(config: config)
        let entries = directory.entries(for: "viewer-1", now: now)
        #expect(entries.count == 2)
        #expect(entries[0].urls == ["turn:turn.shop.example:3478?transport=udp", "turn:turn.shop.example:3478?transport=tcp",
                                    "turns:turn.shop.example:5349?transport=tcp"])
        // TTL 0 here makes the expiry `now`: the same vector as the Auth test.
        #expect(entries[0].username == "1700000000:viewer-1")
        #expect(entries[0].credential == "Ui+wSyuIB77VouDPIJRdtu5lcIo=")
        #expect(entries[1] == .init(urls: ["turns:turn.example.com:443?transport=tcp"], username: "static", credential: "pw"))
        let livekit = directory.livekitServers(for: "viewer-1", now: now)
        #expect(livekit.map(\.urls) == entries.map(\.urls))
        #expect(livekit[0].credential == "Ui+wSyuIB77VouDPIJRdtu5lcIo=")
        let links = directory.linkHeaders(for: "viewer-1", now: now)
        #expect(links.count == 4)
        #expect(links[0] == "<turn:turn.shop.example:3478?transport=udp>; rel=\"ice-server\"; username=\"1700000000:viewer-1\"; "
                + "credential=\"Ui+wSyuIB77VouDPIJRdtu5lcIo=\"; credential-type=\"password\"")
    }

    @Test func externalTLSAdvertises443() {
        var config = ServerConfig()
        config.turn.enabled = true
        config.turn.domain = "t.example"
        config.turn.udpPort = 0
        config.turn.externalTLS = true
        config.turn.secret = "s"
        #expect(ICEServerDirectory(config: config).entries(for: "a", now: now)[0].urls == ["turns:t.example:443?transport=tcp"])
        #expect(ICEServerDirectory(config: ServerConfig()).entries(for: "a").isEmpty)
    }
}
