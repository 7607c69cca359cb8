import HTTPTypes
import Hummingbird
import NIOHTTP1

/// What every plain HTTP request passes through before and after the router:
/// CORS (preflights answered here, the grant added to every answer, errors and 404s included,
/// which route middleware cannot do for paths no route matches) and signalling paths under a
/// prefix mapped onto the routes (`/some/prefix/rtc/validate` is `/rtc/validate`).
///
/// WebSocket upgrades never reach it: `SignallingChannel` answers those, with the same policy.
struct FrontResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    typealias Context = BasicRequestContext
    let inner: Inner
    let cors: CORSPolicy

    func respond(to request: Request, context: Context) async throws -> Response {
        if CORSPolicy.isPreflight(method: request.method, headers: request.headers) {
            return Response(status: .noContent, headers: cors.preflightHeaders(request.headers))
        }
        var routed = request
        // Only GET/HEAD: the signalling endpoints are GETs, and a POST to `/whip/rtc` publishes
        // into a room called "rtc".
        if request.method == .get || request.method == .head,
           let target = request.head.path, let canonical = SignalPath.canonicalTarget(target) {
            var head = request.head
            head.path = canonical
            routed = Request(head: head, body: request.body)
        }
        var response: Response
        do {
            response = try await inner.respond(to: routed, context: context)
        } catch let error as HTTPParserError {
            throw error  // Hummingbird must see these to close the connection
        } catch let error as HTTPResponseError {
            response = try error.response(from: routed, context: context)
        } catch {
            // What Hummingbird's Application would answer, but with CORS so a page sees the 500.
            context.logger.debug("unrecognised error", metadata: ["error": "\(error)"])
            response = Response(status: .internalServerError)
        }
        cors.decorate(&response.headers, method: request.method, request: request.headers)
        return response
    }
}
