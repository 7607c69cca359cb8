// A webhook endpoint as the platform's app has one: every POST is verified with LiveKit's Node SDK
// (WebhookReceiver: the JWT in Authorization, and the body's SHA-256 in its claims), then the same
// body with one byte changed is offered again and must be refused. Usage:
//   node webhooks.cjs <port>      (runs until its stdin closes)
// Prints {"step":"listening"} once ready, then one JSON line per webhook received.
'use strict';
const http = require('node:http');
const { sdk, API_KEY, API_SECRET, out, failure } = require('./common.cjs');
const { WebhookReceiver, EgressStatus } = sdk;

const receiver = new WebhookReceiver(API_KEY, API_SECRET);
const port = Number(process.argv[2]);

function tamper(body) {
  // Change one character inside the first string value (a name or id), keeping the JSON valid,
  // as a body rewritten in transit would be.
  const i = body.indexOf('":"') + 3;
  const c = body[i] === 'x' ? 'y' : 'x';
  return body.slice(0, i) + c + body.slice(i + 1);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const auth = req.headers.authorization;
    const line = { contentType: req.headers['content-type'], path: req.url };
    try {
      const event = await receiver.receive(body, auth);
      Object.assign(line, {
        verified: true, event: event.event, id: event.id, createdAt: event.createdAt,
        room: event.room && { sid: event.room.sid, name: event.room.name },
        participant: event.participant && { sid: event.participant.sid, identity: event.participant.identity },
        track: event.track && { sid: event.track.sid, type: event.track.type, source: event.track.source },
        egress: event.egressInfo && { egressId: event.egressInfo.egressId, status: EgressStatus[event.egressInfo.status],
                                      files: event.egressInfo.fileResults.map((f) => f.filename) },
      });
    } catch (e) {
      Object.assign(line, { verified: false, failure: failure(e) });
    }
    try {
      await receiver.receive(tamper(body), auth);
      line.tamperedAccepted = true;
    } catch (e) {
      line.tamperedRejected = String(e.message);
    }
    try {
      await new WebhookReceiver(API_KEY, 'another-secret').receive(body, auth);
      line.wrongSecretAccepted = true;
    } catch (e) {
      line.wrongSecretRejected = String(e.message);
    }
    out('webhook', line);
    res.writeHead(200);
    res.end();
  });
});
server.listen(port, '127.0.0.1', () => out('listening', { port }));
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
