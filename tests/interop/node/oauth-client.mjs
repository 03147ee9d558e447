// Runs one step of the authorization code flow with simple-oauth2, for tests/interop/test_simple_oauth2.py.
//
// Usage: node oauth-client.mjs authorize-url REDIRECT_URI STATE
//        node oauth-client.mjs exchange CODE REDIRECT_URI
//        node oauth-client.mjs refresh TOKEN_JSON
//        node oauth-client.mjs revoke TOKEN_JSON access_token|refresh_token
//
// The environment names the server and the client: CITIZENRY_BASE_URL (the nation's base URL, such
// as http://127.0.0.1:8000/n/demo), CITIZENRY_CLIENT_ID, CITIZENRY_CLIENT_SECRET, and the
// simple-oauth2 options OAUTH_AUTHORIZATION_METHOD (header or body) and OAUTH_BODY_FORMAT (form or json).
//
// Prints one JSON object on stdout. It has the step's result under "token", "url" or "response", or
// {"error": {"status", "body"}} when the server returns an error status. Both forms also list the
// HTTP requests the client sent under "requests" (method, path, Content-Type, Authorization, body).
// Exits 1 with a message on stderr when the step fails without a response from the server.

import http from 'node:http';
import process from 'node:process';

import { AuthorizationCode } from 'simple-oauth2';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`the environment variable ${name} is missing`);
  }
  return value;
}

function createClient() {
  const base = new URL(requireEnv('CITIZENRY_BASE_URL'));
  // simple-oauth2 joins each path to the origin, so a nation's /n/{slug} prefix goes in the paths.
  const prefix = base.pathname.replace(/\/$/, '');
  return new AuthorizationCode({
    client: {
      id: requireEnv('CITIZENRY_CLIENT_ID'),
      secret: requireEnv('CITIZENRY_CLIENT_SECRET'),
    },
    auth: {
      tokenHost: base.origin,
      tokenPath: `${prefix}/oauth/token`,
      revokePath: `${prefix}/oauth/revoke`,
      authorizePath: `${prefix}/oauth/authorize`,
    },
    options: {
      authorizationMethod: requireEnv('OAUTH_AUTHORIZATION_METHOD'),
      bodyFormat: requireEnv('OAUTH_BODY_FORMAT'),
    },
  });
}

// Record every request that Node's http client sends, with its body. simple-oauth2 sends through
// @hapi/wreck, which calls write() and end() of http.ClientRequest, so those two are wrapped here.
function recordRequests() {
  const sent = [];
  const records = new WeakMap();
  const recordOf = (request) => {
    let record = records.get(request);
    if (record === undefined) {
      record = {
        method: request.method,
        path: request.path,
        content_type: request.getHeader('content-type') ?? null,
        authorization: request.getHeader('authorization') ?? null,
        body: '',
      };
      records.set(request, record);
      sent.push(record);
    }
    return record;
  };
  for (const name of ['write', 'end']) {
    const original = http.ClientRequest.prototype[name];
    http.ClientRequest.prototype[name] = function recordChunk(chunk, ...rest) {
      const record = recordOf(this);
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
        record.body += chunk.toString();
      }
      return original.call(this, chunk, ...rest);
    };
  }
  return sent;
}

function serverError(error) {
  const status = error?.output?.statusCode;
  const payload = error?.data?.payload;
  if (!error?.data?.isResponseError || status === undefined) {
    return null;
  }
  const body = Buffer.isBuffer(payload) ? payload.toString() : payload;
  return { status, body };
}

async function runStep(client, step, args) {
  switch (step) {
    case 'authorize-url': {
      const [redirectUri, state] = args;
      return { url: client.authorizeURL({ redirect_uri: redirectUri, state }) };
    }
    case 'exchange': {
      const [code, redirectUri] = args;
      const accessToken = await client.getToken({ code, redirect_uri: redirectUri });
      return { token: accessToken.token };
    }
    case 'refresh': {
      const [tokenJson] = args;
      const accessToken = await client.createToken(JSON.parse(tokenJson)).refresh();
      return { token: accessToken.token };
    }
    case 'revoke': {
      const [tokenJson, tokenType] = args;
      const response = await client.createToken(JSON.parse(tokenJson)).revoke(tokenType);
      return { response: Buffer.isBuffer(response) ? response.toString() : (response ?? null) };
    }
    default:
      throw new Error(`unknown step ${JSON.stringify(step)}: expected authorize-url, exchange, refresh or revoke`);
  }
}

async function main() {
  const [step, ...args] = process.argv.slice(2);
  const sent = recordRequests();
  const client = createClient();
  try {
    const result = await runStep(client, step, args);
    process.stdout.write(`${JSON.stringify({ ...result, requests: sent })}\n`);
  } catch (error) {
    const answer = serverError(error);
    if (answer === null) {
      throw error;
    }
    process.stdout.write(`${JSON.stringify({ error: answer, requests: sent })}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`oauth-client.mjs failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
