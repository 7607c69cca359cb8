import Testing
@testable import SluiceServer

@Suite struct ClusterConfigTests {
    @Test func noRedisBlockMeansASingleNode() throws {
        let c = try ConfigLoader.parse(yaml: "")
        #expect(c.redis == nil)
    }

    @Test func redisBlockTakesLiveKitKeys() throws {
        let c = try ConfigLoader.parse(yaml: """
            redis:
              address: 10.0.0.5:6380
              username: sluice
              password: pw
              db: 2
            cluster:
              node_id: edge-1
              advertise_url: http://10.0.0.9:7880/
            """)
        #expect(c.redis?.address == "10.0.0.5:6380")
        #expect(c.redis?.username == "sluice" && c.redis?.password == "pw" && c.redis?.db == 2)
        #expect(c.cluster.nodeID == "edge-1")
        #expect(SluiceApplication.advertisedURL(c) == "http://10.0.0.9:7880")
        let sentinel = try ConfigLoader.parse(yaml: """
            redis:
              sentinel_master_name: mymaster
              sentinel_addresses: [10.0.0.1:26379, "[::1]:26379"]
            """)
        #expect(sentinel.redis?.sentinelAddresses.count == 2)
    }

    @Test func badRedisSettingsNameTheKey() {
        for yaml in ["redis:\n  address: \"host:notaport\"", "redis:\n  use_tls: true", "redis:\n  addr: x:1",
                     "redis:\n  sentinel_addresses: [a:1]", "redis:\n  cluster_addresses: [a:1]", "cluster:\n  id: x"] {
            #expect(throws: ConfigError.self, "\(yaml)") { try ConfigLoader.parse(yaml: yaml) }
        }
    }

    @Test func advertisedURLDefaultsToTheListener() throws {
        var c = ServerConfig()
        c.port = 7999
        #expect(SluiceApplication.advertisedURL(c) == "http://127.0.0.1:7999")
        c.rtc.nodeIP = "::1"
        #expect(SluiceApplication.advertisedURL(c) == "http://[::1]:7999")
    }

    @Test func placementPrefersTheLeastLoadedThenTheAskingNode() {
        func node(_ id: String, rooms: Int, participants: Int, cpu: Double = 0) -> NodeInfo {
            NodeInfo(id: id, url: "", rooms: rooms, participants: participants, cpu: cpu, startedAtMs: 0, updatedAtMs: 0)
        }
        let nodes = [node("a", rooms: 1, participants: 5), node("b", rooms: 0, participants: 0, cpu: 0.5),
                     node("c", rooms: 0, participants: 0, cpu: 0.1)]
        #expect(nodes.sorted(by: NodeInfo.placementOrder(preferring: "a")).first?.id == "c")
        #expect(nodes.sorted(by: NodeInfo.placementOrder(preferring: "b")).first?.id == "b")
    }
}
