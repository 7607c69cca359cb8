import Testing
@testable import SluiceServer

@Suite struct ConfigLoaderTests {
    @Test func emptyConfigGivesDefaults() throws {
        let c = try ConfigLoader.parse(yaml: "")
        #expect(c.port == 7880)
        #expect(c.room.emptyTimeout == 300)
        #expect(c.room.autoCreate)
        #expect(c.keys.isEmpty)
    }

    @Test func prometheusPortIsOffByDefaultAndValidated() throws {
        #expect(try ConfigLoader.parse(yaml: "").prometheusPort == 0)
        #expect(try ConfigLoader.parse(yaml: "prometheus_port: 6789").prometheusPort == 6789)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "prometheus_port: 70000") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "prometheus_port: metrics") }
        // One listener per port: metrics cannot share the signalling port.
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "port: 7880\nprometheus_port: 7880") }
    }

    @Test func drainTimeoutIsOffByDefaultAndValidated() throws {
        #expect(try ConfigLoader.parse(yaml: "").shutdown.drainTimeout == 0)
        #expect(try ConfigLoader.parse(yaml: "shutdown:\n  drain_timeout: 5").shutdown.drainTimeout == 5)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "shutdown:\n  drain_timeout: -1") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "shutdown:\n  drain: 5") }
    }

    @Test func sessionLimitsTakeLiveKitEgressKeysAndGoDurations() throws {
        #expect(try ConfigLoader.parse(yaml: "").recordingLimits == ServerConfig.RecordingLimits())
        let c = try ConfigLoader.parse(yaml: """
            recordings:
              session_limits:
                file_output_max_duration: 1h30m
                file_output_max_size: 1048576
                stream_output_max_duration: 90m
                segment_output_max_duration: 45
            """)
        #expect(c.recordingLimits.fileOutputMaxSeconds == 5400 && c.recordingLimits.fileOutputMaxSize == 1_048_576)
        #expect(c.recordingLimits.streamOutputMaxSeconds == 5400 && c.recordingLimits.segmentOutputMaxSeconds == 45)
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(yaml: "recordings:\n  session_limits:\n    file_output_max_duration: soon")
        }
        // LiveKit's image limit is taken (there are no image outputs to limit); a misspelt key is not.
        _ = try ConfigLoader.parse(yaml: "recordings:\n  session_limits:\n    image_output_max_duration: 1h")
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(yaml: "recordings:\n  session_limits:\n    file_max_duration: 1h")
        }
    }

    @Test func fullConfigParses() throws {
        let c = try ConfigLoader.parse(yaml: """
            port: 7990
            bind_addresses: [127.0.0.1, "::1"]
            rtc:
              port_range_start: 40000
              port_range_end: 40100
              node_ip: 10.0.0.5
              use_external_ip: false
            keys:
              APIabc: supersecret
            room:
              empty_timeout: 60
              departure_timeout: 5
              max_participants: 100
              auto_create: false
            webhook:
              api_key: APIabc
              urls:
                - http://127.0.0.1:9999/hook
              queue_size: 50
              retry_seconds: 60
            logging:
              level: debug
              json: true
            storage:
              path: /tmp/x.sqlite
            recordings:
              path: /tmp/rec
            """)
        #expect(c.port == 7990)
        #expect(c.bindAddresses == ["127.0.0.1", "::1"])
        #expect(c.rtc.portRangeStart == 40000 && c.rtc.portRangeEnd == 40100 && c.rtc.nodeIP == "10.0.0.5")
        #expect(c.keys == ["APIabc": "supersecret"])
        #expect(c.room.emptyTimeout == 60 && c.room.departureTimeout == 5 && c.room.maxParticipants == 100)
        #expect(!c.room.autoCreate)
        #expect(c.webhook.urls == ["http://127.0.0.1:9999/hook"])
        #expect(c.webhook.queueSize == 50 && c.webhook.retrySeconds == 60)
        #expect(c.logging.level == "debug" && c.logging.json)
        #expect(c.storagePath == "/tmp/x.sqlite" && c.recordingsPath == "/tmp/rec")
    }

    @Test func unknownKeyNamesKeyAndLine() {
        do {
            _ = try ConfigLoader.parse(yaml: "port: 7880\nroom:\n  empty_timeout: 5\n  emtpy_timeout: 6\n")
            Issue.record("expected an error")
        } catch let error as ConfigError {
            #expect(error.key == "room.emtpy_timeout")
            #expect(error.line == 4)
            #expect(error.description.contains("unknown key"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func badValuesNameKeyAndLine() {
        let cases: [(String, String, Int)] = [
            ("port: seventy\n", "port", 1),
            ("port: 70000\n", "port", 1),
            ("room:\n  auto_create: maybe\n", "room.auto_create", 2),
            ("room:\n  empty_timeout: -1\n", "room.empty_timeout", 2),
            ("logging:\n  level: loud\n", "logging.level", 2),
            ("rtc: 5\n", "rtc", 1),
            ("keys:\n  k: \"\"\n", "keys.k", 2),
            ("cors:\n  allowed_origins:\n    - \"*\"\n    - https://app.example.com/\n", "cors.allowed_origins", 4),
            ("cors:\n  allowed_origins: example.com\n", "cors.allowed_origins", 2),
            ("cors:\n  allow_origins: [\"*\"]\n", "cors.allow_origins", 2),
        ]
        for (yaml, key, line) in cases {
            do {
                _ = try ConfigLoader.parse(yaml: yaml)
                Issue.record("expected an error for \(yaml)")
            } catch let error as ConfigError {
                #expect(error.key == key, "\(yaml)")
                #expect(error.line == line, "\(yaml)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func corsOrigins() throws {
        #expect(try ConfigLoader.parse(yaml: "").cors.allowedOrigins == ["*"])  // LiveKit: any origin
        let c = try ConfigLoader.parse(yaml: "cors:\n  allowed_origins: [https://app.example.com, \"http://*.lan:8080\"]\n")
        #expect(c.cors.allowedOrigins == ["https://app.example.com", "http://*.lan:8080"])
        #expect(try ConfigLoader.parse(yaml: "cors:\n  allowed_origins: []\n").cors.allowedOrigins.isEmpty)
    }

    @Test func invalidYAMLIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "port: [unclosed\n") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: "- a list\n- not a mapping\n") }
    }

    @Test func portRangeMustBeOrdered() throws {
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(yaml: "rtc:\n  port_range_start: 6000\n  port_range_end: 5000\n")
        }
        // One port cannot hold a participant (two peer connections).
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(yaml: "rtc:\n  port_range_start: 6000\n  port_range_end: 6000\n")
        }
        #expect(try ConfigLoader.parse(yaml: "rtc:\n  port_range_start: 6000\n  port_range_end: 6001\n").rtc.portRangeEnd == 6001)
    }

    @Test func livekitKeysEnvironment() throws {
        #expect(try ConfigLoader.parseKeys("key1: secret1") == ["key1": "secret1"])
        #expect(try ConfigLoader.parseKeys("a: b\nc: d") == ["a": "b", "c": "d"])
        #expect(throws: ConfigError.self) { try ConfigLoader.parseKeys("nocolon") }
        let c = try ConfigResolver.resolve(file: nil, dev: true, environment: ["LIVEKIT_KEYS": "k: s"])
        #expect(c.keys == ["k": "s"])  // the environment wins over --dev's default keys
        let dev = try ConfigResolver.resolve(file: nil, dev: true, port: 9000, environment: [:])
        #expect(dev.keys == ["devkey": "secret"] && dev.port == 9000)
    }
}
