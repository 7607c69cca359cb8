// LiveKit's Node SDK on tokens. Usage:
//   node tokens.cjs mint <room>      -> join tokens from AccessToken (grants, name, metadata,
//                                       attributes, ttl), printed with their decoded claims
//   node tokens.cjs verify <jwt>     -> TokenVerifier.verify on a token Sluice printed
'use strict';
const { sdk, API_KEY, API_SECRET, out, failure, main } = require('./common.cjs');
const { AccessToken, TokenVerifier, TrackSource } = sdk;

async function mint(room) {
  const tokens = {};
  const viewer = new AccessToken(API_KEY, API_SECRET, {
    identity: 'viewer', name: 'Viewer', metadata: '{"seat":"A1"}', attributes: { plan: 'pro', locale: 'fr' },
    ttl: '10m' });
  viewer.addGrant({ roomJoin: true, room, canPublish: false, canSubscribe: true, canPublishData: true,
                    canUpdateOwnMetadata: true });
  tokens.viewer = await viewer.toJwt();
  const leaver = new AccessToken(API_KEY, API_SECRET, { identity: 'leaver', ttl: 600 });
  leaver.addGrant({ roomJoin: true, room, canPublishSources: [TrackSource.MICROPHONE] });
  tokens.leaver = await leaver.toJwt();
  // Expired two minutes ago, past LiveKit's one minute of leeway: must be refused.
  const expired = new AccessToken(API_KEY, API_SECRET, { identity: 'late', ttl: '-2m' });
  expired.addGrant({ roomJoin: true, room });
  tokens.expired = await expired.toJwt();
  // A join token for another room: must not open this one.
  const elsewhere = new AccessToken(API_KEY, API_SECRET, { identity: 'stray' });
  elsewhere.addGrant({ roomJoin: true, room: `${room}-elsewhere` });
  tokens.elsewhere = await elsewhere.toJwt();
  const claims = {};
  for (const [k, t] of Object.entries(tokens)) {
    claims[k] = JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
  }
  out('mint', { tokens, claims });
}

async function verify(jwt) {
  try {
    out('verify', { claims: await new TokenVerifier(API_KEY, API_SECRET).verify(jwt) });
  } catch (e) {
    out('verify', failure(e));
  }
  try {
    await new TokenVerifier(API_KEY, 'another-secret').verify(jwt);
    out('verifyWrongSecret', { accepted: true });
  } catch (e) {
    out('verifyWrongSecret', failure(e));
  }
}

main(async () => {
  const [what, arg] = process.argv.slice(2);
  if (what === 'mint') await mint(arg);
  else if (what === 'verify') await verify(arg);
  else throw new Error(`unknown command ${what}`);
});
