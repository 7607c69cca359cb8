import Foundation

/// Combines the config file, `--dev`, command-line overrides and the environment into the final
/// config, in LiveKit's order: file, then environment (`LIVEKIT_KEYS`), then flags.
public enum ConfigResolver {
    public static func resolve(file: String?, dev: Bool, port: Int? = nil, bind: [String] = [],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerConfig {
        var config = ServerConfig()
        if let file {
            config = try ConfigLoader.load(file: file)
        } else if let inline = environment["LIVEKIT_CONFIG"], !inline.isEmpty {
            config = try ConfigLoader.parse(yaml: inline)
        }
        if let keys = environment["LIVEKIT_KEYS"], !keys.isEmpty {
            config.keys = try ConfigLoader.parseKeys(keys)
        }
        if dev && config.keys.isEmpty {
            config.keys = ServerConfig.devKeys
        }
        if dev {
            config.devMode = true
            // The web app is how a person tries Sluice with nothing else; a file that says
            // `webapp.enabled: false` still wins.
            if config.webapp.enabled == nil { config.webapp.enabled = true }
        }
        if let port { config.port = port }
        if !bind.isEmpty { config.bindAddresses = bind }
        return config
    }
}
