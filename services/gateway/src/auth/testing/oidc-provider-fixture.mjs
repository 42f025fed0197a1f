// A real OpenID Connect provider (oidc-provider v9, ESM-only) for the gateway's OIDC tests, run as
// a child process because jest's CommonJS runtime cannot load it. Plain http on 127.0.0.1 only.
//
// Three issuers, each on its own port, so every refusal has a real token behind it:
// - main:  the issuer the gateway trusts, signing with key K1;
// - other: another issuer signing with the same key K1 (a token from it must fail on `iss`);
// - rogue: claims main's issuer but signs with key K2, absent from main's JWKS (unknown key).
// Tokens are JWT access tokens from the client_credentials grant with a resource indicator
// (RFC 8707), so the audience is the requested resource; `sub` is the client id.
//
// Each issuer also serves the device authorization grant (RFC 8628) to the public client
// `flotilla-cli` (the flotilla CLI), with refresh tokens (scope offline_access) and ID tokens that
// carry the scope's claims (email, groups). A user approves a device code through the provider's
// own pages (/device) and this fixture's sign-in and consent pages (/interaction/...), as in a
// browser: user `bob`, the password printed at start. Like busy providers, it answers a device
// code's first poll with slow_down, and any poll sooner than the interval (1 s, plus 5 s per
// slow_down) with slow_down too; GET /fixture/device-polls counts those (tooEarly must stay 0).
// OIDC_FIXTURE_ID_TOKEN_TTL and OIDC_FIXTURE_DEVICE_CODE_TTL (seconds) shorten the lifetimes.
// Prints one JSON line {main, other, rogue, clientId, clientSecret, deviceClientId, user} when
// ready; runs until killed.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const clientId = 'flotilla-test';
const clientSecret = randomBytes(24).toString('hex');
const deviceClientId = 'flotilla-cli';
const user = { login: 'bob', password: randomBytes(12).toString('hex'), claims: { email: 'bob@example.com', email_verified: true, groups: ['sre', 'system:masters'] } };
const ttl = (name, fallback) => (/^\d+$/.test(process.env[name] ?? '') ? Number(process.env[name]) : fallback);
const ID_TOKEN_TTL = ttl('OIDC_FIXTURE_ID_TOKEN_TTL', 3600);
const DEVICE_CODE_TTL = ttl('OIDC_FIXTURE_DEVICE_CODE_TTL', 600);
const DEVICE_INTERVAL = 1;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

async function listening() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

function provider(issuer, key) {
  const p = new Provider(issuer, {
    clients: [
      { client_id: clientId, client_secret: clientSecret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_post' },
      // Also the browser login (authorization code + PKCE, RFC 8252): a native client's loopback redirect matches on any port.
      { client_id: deviceClientId, client_name: 'Flotilla CLI', application_type: 'native', grant_types: [DEVICE_GRANT, 'authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' },
    ],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'offline_access', 'api'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    // The scope's claims in the ID token itself (the gateway reads only the ID token).
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => (id === user.login ? { accountId: id, claims: () => ({ sub: id, ...user.claims }) } : undefined),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { IdToken: ID_TOKEN_TTL, DeviceCode: DEVICE_CODE_TTL },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({ scope: 'api', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    // Groups as an identity provider would send them, one of them a name Flotilla must drop.
    extraTokenClaims: () => ({ groups: ['sre', 'dev', 'system:masters'] }),
  });
  // RFC 8628 §3.2: the polling interval the client must honour.
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') ctx.body.interval = DEVICE_INTERVAL;
  });
  return p;
}

const polls = { polls: 0, slowDowns: 0, tooEarly: 0 };
const pollState = new Map();

/** slow_down for a device code's first poll and for polls sooner than its interval (RFC 8628 §3.5). */
function slowDown(deviceCode) {
  polls.polls += 1;
  const now = Date.now();
  const state = pollState.get(deviceCode);
  if (!state) {
    pollState.set(deviceCode, { last: now, interval: DEVICE_INTERVAL + 5 });
    polls.slowDowns += 1;
    return true;
  }
  const early = now - state.last < state.interval * 1000 - 50;
  state.last = now;
  if (!early) return false;
  polls.tooEarly += 1;
  polls.slowDowns += 1;
  state.interval += 5;
  return true;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 64 * 1024) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sign-in and consent pages a provider shows during the device flow (as in oidc-provider's example app). */
async function handleInteraction(p, req, res) {
  const details = await p.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  const action = new URL(req.url, 'http://x').pathname.split('/')[3];
  const html = (status, body) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return html(200, page('Sign in', `<form id="login" method="post" action="/interaction/${uid}/login"><input name="login"/><input type="password" name="password"/><button type="submit">Sign in</button></form>`));
    }
    return html(200, page('Authorize', `<p>${escapeHtml(params.client_id)} asks for ${escapeHtml(params.scope)}</p>` +
      `<form id="confirm" method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>` +
      `<form id="deny" method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`));
  }
  const form = parseQuery(await readBody(req));
  if (action === 'login') {
    if (form.login !== user.login || form.password !== user.password) {
      return html(200, page('Sign in', `<p>wrong user or password</p><form id="login" method="post" action="/interaction/${uid}/login"><input name="login"/><input type="password" name="password"/><button type="submit">Sign in</button></form>`));
    }
    return p.interactionFinished(req, res, { login: { accountId: user.login } }, { mergeWithLastSubmission: false });
  }
  if (action === 'abort') return p.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user denied the request' }, { mergeWithLastSubmission: false });
  const grant = details.grantId ? await p.Grant.find(details.grantId) : new p.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  return p.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

function serve(l, p) {
  const callback = p.callback();
  l.server.on('request', async (req, res) => {
    try {
      const path = new URL(req.url, l.url).pathname;
      if (path.startsWith('/interaction/')) return await handleInteraction(p, req, res);
      if (path === '/fixture/device-polls') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(polls));
      if (path === '/token' && req.method === 'POST') {
        // Read here (the provider takes an already read body from req.body) to see the grant.
        const form = parseQuery(await readBody(req));
        if (form.grant_type === DEVICE_GRANT && typeof form.device_code === 'string' && slowDown(form.device_code)) {
          return res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'slow_down', error_description: 'poll less often' }));
        }
        req.body = form;
      }
      return callback(req, res);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.message ?? error));
    }
  });
}

const [k1, k2] = [await signingKey('k1'), await signingKey('k2')];
const [main, other, rogue] = [await listening(), await listening(), await listening()];
serve(main, provider(main.url, k1));
serve(other, provider(other.url, k1));
serve(rogue, provider(main.url, k2));
process.stdout.write(`${JSON.stringify({ main: main.url, other: other.url, rogue: rogue.url, clientId, clientSecret, deviceClientId, user: { login: user.login, password: user.password } })}\n`);
process.on('SIGTERM', () => process.exit(0));
