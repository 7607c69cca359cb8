import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP from this node to another node of the cluster: a signalling request's admission check
/// and the API calls forwarded to a room's node. The caller's own Authorization goes along
/// unchanged: every node holds the cluster's API keys, so the owner verifies the caller's token
/// itself and nothing is trusted because it came from a peer.
enum NodeHTTP {
    /// Marks a request already forwarded once, so the receiving node serves it itself (no loops,
    /// whatever two nodes believe about a room for a moment).
    static let forwardedHeader = "X-Sluice-Forwarded-By"

    struct Answer: Sendable {
        var status: Int
        var contentType: String?
        var body: ByteBuffer
    }

    static let timeout: TimeAmount = .seconds(10)
    static let maxBody = 4 * 1024 * 1024

    static func send(_ method: HTTPMethod, _ url: String, authorization: String?, contentType: String? = nil,
                     body: ByteBuffer? = nil, from node: String) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        request.headers.add(name: forwardedHeader, value: node)
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: maxBody)
        return Answer(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"), body: bytes)
    }
}
