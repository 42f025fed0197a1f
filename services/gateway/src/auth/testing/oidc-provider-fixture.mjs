// A real OpenID Connect provider (oidc-provider v9, ESM-only) for the gateway's OIDC tests, run as
// a child process because jest's CommonJS runtime cannot load it. Plain http on 127.0.0.1 only.
//
// Three issuers, each on its own port, so every refusal has a real token behind it:
// - main:  the issuer the gateway trusts, signing with key K1;
// - other: another issuer signing with the same key K1 (a token from it must fail on `iss`);
// - rogue: claims main's issuer but signs with key K2, absent from main's JWKS (unknown key).
// Tokens are JWT access tokens from the client_credentials grant with a resource indicator
// (RFC 8707), so the audience is the requested resource; `sub` is the client id.
// Prints one JSON line {main, other, rogue, clientId, clientSecret} when ready; runs until killed.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const clientId = 'flotilla-test';
const clientSecret = randomBytes(24).toString('hex');

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
    clients: [{ client_id: clientId, client_secret: clientSecret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['api'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
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
  return p;
}

const [k1, k2] = [await signingKey('k1'), await signingKey('k2')];
const [main, other, rogue] = [await listening(), await listening(), await listening()];
const serve = (l, p) => l.server.on('request', p.callback());
serve(main, provider(main.url, k1));
serve(other, provider(other.url, k1));
serve(rogue, provider(main.url, k2));
process.stdout.write(`${JSON.stringify({ main: main.url, other: other.url, rogue: rogue.url, clientId, clientSecret })}\n`);
process.on('SIGTERM', () => process.exit(0));
