import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { toKubeStatus } from '@flotilla/service-kit';
import { IamMirror } from '../iam/iam-mirror';
import { oidcSettings } from './auth-config';
import { Authenticator } from './authenticator';
import { OidcVerifier } from './oidc-verifier';
import { ManualFeed } from './testing/iam-fixtures';

/**
 * OIDC against a real provider (oidc-provider v9 in a child process: it is ESM-only, which jest's
 * CommonJS runtime cannot load). Every token is a real signed JWT from it; nothing is mocked.
 */
interface Fixture {
  main: string;
  other: string;
  rogue: string;
  clientId: string;
  clientSecret: string;
}

const AUDIENCE = 'urn:flotilla:gateway';
let child: ChildProcess;
let fx: Fixture;

beforeAll(async () => {
  child = spawn(process.execPath, [join(__dirname, 'testing', 'oidc-provider-fixture.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  fx = await new Promise<Fixture>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Fixture);
    });
    child.once('exit', (code) => reject(new Error(`the OIDC provider fixture exited (${code}): ${err}`)));
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

/** A real JWT access token from one of the fixture's issuers, for the given audience (resource indicator). */
async function tokenFrom(issuer: string, audience = AUDIENCE): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: fx.clientId, client_secret: fx.clientSecret, resource: audience, scope: 'api' }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

function authenticator(now?: () => Date, issuer = fx.main) {
  const settings = oidcSettings({
    FLOTILLA_OIDC_ISSUER_URL: issuer,
    FLOTILLA_OIDC_AUDIENCE: AUDIENCE,
    FLOTILLA_OIDC_USERNAME_CLAIM: 'sub',
    FLOTILLA_OIDC_GROUPS_CLAIM: 'groups',
    FLOTILLA_OIDC_ALLOW_HTTP_ISSUER: 'true',
  })!;
  const mirror = new IamMirror(new ManualFeed());
  return new Authenticator('x'.repeat(40), mirror, new OidcVerifier(settings, now));
}

async function refusal(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('the token was accepted');
  return toKubeStatus(error);
}

describe('OIDC bearer tokens from a real provider', () => {
  it('accepts a valid token as oidc:<sub> with prefixed groups, dropping system: groups', async () => {
    const principal = await authenticator().authenticateToken(await tokenFrom(fx.main));
    expect(principal).toEqual({ user: `oidc:${fx.clientId}`, groups: ['oidc:sre', 'oidc:dev'], via: 'oidc' });
  });

  it('refuses a token for another audience', async () => {
    const r = await refusal(authenticator().authenticateToken(await tokenFrom(fx.main, 'urn:someone-else')));
    expect(r).toMatchObject({ code: 401, message: expect.stringContaining(`audience is not ${AUDIENCE}`) });
  });

  it('refuses an expired token (past the 30 s of skew)', async () => {
    const token = await tokenFrom(fx.main);
    const later = () => new Date(Date.now() + 331_000);
    expect(await refusal(authenticator(later).authenticateToken(token))).toMatchObject({ code: 401, message: expect.stringContaining('expired') });
    // Within the tolerated skew it is still good.
    const justAfter = () => new Date(Date.now() + 320_000);
    await expect(authenticator(justAfter).authenticateToken(token)).resolves.toMatchObject({ via: 'oidc' });
  });

  it('refuses a token from another issuer, even one signed with the same key', async () => {
    const r = await refusal(authenticator().authenticateToken(await tokenFrom(fx.other)));
    expect(r).toMatchObject({ code: 401, message: expect.stringContaining(`not issued by ${fx.main}`) });
  });

  it('refuses a token signed with a key the issuer does not publish', async () => {
    const r = await refusal(authenticator().authenticateToken(await tokenFrom(fx.rogue)));
    expect(r).toMatchObject({ code: 401, message: expect.stringContaining('signature does not match') });
  });

  it('refuses a token whose signature was altered, without echoing it', async () => {
    const token = await tokenFrom(fx.main);
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${Buffer.from('forged signature').toString('base64url')}`;
    const r = await refusal(authenticator().authenticateToken(forged));
    expect(r.code).toBe(401);
    expect(r.message).not.toContain(p);
  });

  it('answers 503, not 401, when the issuer cannot be reached', async () => {
    const token = await tokenFrom(fx.main);
    const r = await refusal(authenticator(undefined, 'http://127.0.0.1:1').authenticateToken(token));
    expect(r).toMatchObject({ code: 503, message: expect.stringContaining('could not be reached') });
  });
});

describe('OIDC configuration', () => {
  const base = { FLOTILLA_OIDC_USERNAME_CLAIM: 'sub', FLOTILLA_OIDC_GROUPS_CLAIM: 'groups', FLOTILLA_OIDC_ALLOW_HTTP_ISSUER: 'false' as const };
  it('is off without an issuer, and demands https and an audience with one', () => {
    expect(oidcSettings(base)).toBeUndefined();
    expect(() => oidcSettings({ ...base, FLOTILLA_OIDC_ISSUER_URL: 'http://idp.example', FLOTILLA_OIDC_AUDIENCE: 'a' })).toThrow(/FLOTILLA_OIDC_ISSUER_URL: must be an https/);
    expect(() => oidcSettings({ ...base, FLOTILLA_OIDC_ISSUER_URL: 'https://idp.example' })).toThrow(/FLOTILLA_OIDC_AUDIENCE: is required/);
    expect(() => oidcSettings({ ...base, FLOTILLA_OIDC_AUDIENCE: 'a' })).toThrow(/FLOTILLA_OIDC_ISSUER_URL: is required/);
    expect(oidcSettings({ ...base, FLOTILLA_OIDC_ISSUER_URL: 'https://idp.example', FLOTILLA_OIDC_AUDIENCE: 'a' })).toMatchObject({ issuer: 'https://idp.example' });
  });
});
