// Shared by the Node scripts the Interop tests run: each prints one JSON object per line on
// stdout, which the Python test reads. The SDK comes from NODE_PATH (shared/clients/node-server-sdk).
'use strict';
const sdk = require('livekit-server-sdk');

const API_KEY = process.env.LIVEKIT_API_KEY || 'devkey';
const API_SECRET = process.env.LIVEKIT_API_SECRET || 'secret';

// protobuf-es messages carry bigint (int64) fields: print them through toJson(), which writes
// int64 as strings and enums by name, exactly as the SDK's users would see them serialised.
function plain(value) {
  if (value === undefined || value === null) return value;
  if (typeof value.toJson === 'function') return value.toJson();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function out(step, fields) {
  process.stdout.write(JSON.stringify({ step, ...plain(fields) }) + '\n');
}

// What an app's try/catch sees: the SDK's TwirpError (status, code, message), or any other error
// (a parse failure would show here as a plain Error without a code).
function failure(e) {
  return { error: true, name: e.constructor && e.constructor.name, status: e.status, code: e.code,
           message: String(e.message) };
}

// Runs an SDK call and prints either its result or its error under `step`.
async function step(name, call, show = (r) => ({ result: r })) {
  try {
    const r = await call();
    out(name, show(r));
    return r;
  } catch (e) {
    out(name, failure(e));
    return undefined;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function main(fn) {
  fn().catch((e) => {
    out('crash', { message: String(e && e.stack || e) });
    process.exit(1);
  });
}

module.exports = { sdk, API_KEY, API_SECRET, plain, out, failure, step, sleep, main };
