import SFU
import WebRTC

/// The tracks a peer connection publishes, by m-line index, and each m-line's simulcast rid
/// positions as the track's layers: how an inbound RTP packet (m-line, rid position) finds its
/// track and layer. Shared by every door that publishes (LiveKit clients, WHIP).
public struct PublishedLines {
    public private(set) var tracks: [PublishedTrack?] = []
    /// By m-line: layer (from the bottom) of each rid position; [0] without simulcast.
    private var layers: [[Int]] = []

    public init() {}

    /// Makes room for `count` m-lines (offers only ever add m-lines).
    mutating func grow(to count: Int) {
        guard tracks.count < count else { return }
        tracks += Array(repeating: nil, count: count - tracks.count)
        layers += Array(repeating: [0], count: count - layers.count)
    }

    public subscript(line: Int) -> PublishedTrack? { line < tracks.count ? tracks[line] : nil }

    mutating func bind(_ track: PublishedTrack, line: Int, rids: [String]) {
        grow(to: line + 1)
        tracks[line] = track
        layers[line] = rids.isEmpty ? [0] : Self.layerIndices(of: rids)
    }

    /// Forgets the track of `line`, returning it.
    @discardableResult
    mutating func unbind(line: Int) -> PublishedTrack? {
        guard line < tracks.count, let track = tracks[line] else { return nil }
        tracks[line] = nil
        return track
    }

    public func line(ofTrack sid: String) -> Int? { tracks.firstIndex { $0?.id == sid } }

    /// The track and layer of a packet that arrived on m-line `media` at rid position `ridIndex`.
    @inline(__always)
    public func route(media: Int, ridIndex: Int) -> (track: PublishedTrack, layer: Int)? {
        guard media < tracks.count, let track = tracks[media] else { return nil }
        let ridLayers = layers[media]
        return (track, ridIndex < ridLayers.count ? ridLayers[ridIndex] : 0)
    }

    /// The SFU layers a simulcast m-line's rids make, sized from `announced` (width, height by
    /// layer index) when the door tells sizes.
    public static func layers(rids: [String], announced: (Int) -> (width: Int, height: Int)? = { _ in nil })
        -> [LayerSelector.Layer] {
        let count = ((rids.isEmpty ? [0] : layerIndices(of: rids)).max() ?? 0) + 1
        return (0..<count).map { index in
            let size = announced(index)
            return LayerSelector.Layer(width: size?.width ?? 0, height: size?.height ?? 0)
        }
    }

    /// LiveKit's rid names to layer indices from the bottom; other names by their order.
    public static func layerIndices(of rids: [String]) -> [Int] {
        let known = ["q": 0, "h": 1, "f": 2]
        if rids.allSatisfy({ known[$0] != nil }) {
            // Two layers are q and h; three are q, h and f, whatever order the client lists them in.
            return rids.map { known[$0]! }
        }
        return rids.indices.map { $0 }
    }
}

extension TrackCodec {
    /// The SFU's view of what an m-line negotiated.
    public init(_ codec: NegotiatedCodec) {
        self.init(name: codec.name, payloadType: codec.payloadType, clockRate: codec.clockRate,
                  channels: codec.channels, parameters: codec.parameters)
    }
}
