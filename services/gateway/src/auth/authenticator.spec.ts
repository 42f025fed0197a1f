import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { MemberRole } from '@flotilla/domain';
import { Authorizer } from '../authz/authorizer';
import { authorizeMiddleware } from '../authz/authorize-middleware';
import { SSAR_PATH, selfSubjectAccessReviewHandler } from '../authz/ssar';
import { IamMirror } from '../iam/iam-mirror';
import { ADMIN_PRINCIPAL, Authenticator } from './authenticator';
import { principalOf } from './principal';
import { MapLabels, ManualFeed, accessBinding, fleetBinding, tokenObject, userObject } from './testing/iam-fixtures';

const ADMIN = 'a'.repeat(40);

function setup() {
  const feed = new ManualFeed();
  const mirror = new IamMirror(feed);
  mirror.start();
  let now = Date.parse('2026-06-01T00:00:00Z');
  const authenticator = new Authenticator(ADMIN, mirror, undefined, () => now);
  return { feed, mirror, authenticator, setNow: (t: number) => (now = t) };
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, url: '/apis/x' }) as never;

describe('Authenticator', () => {
  it('maps the bootstrap admin token to admin, before the mirror is even loaded', async () => {
    const { authenticator } = setup();
    await expect(authenticator.authenticate(bearer(ADMIN))).resolves.toEqual(ADMIN_PRINCIPAL);
  });

  it('accepts a valid Flotilla token as its user with the user\'s groups', async () => {
    const { feed, authenticator } = setup();
    const t = tokenObject('alice', '2027-01-01T00:00:00Z');
    feed.sync([userObject('alice', ['dev', 'system:masters']), t.object]);
    await expect(authenticator.authenticate(bearer(t.secret))).resolves.toEqual({ user: 'alice', groups: ['dev'], tokenId: t.name, via: 'token' });
  });

  it('refuses unknown, tampered, revoked, expired, admin and orphaned tokens with one message', async () => {
    const { feed, authenticator, setNow } = setup();
    const ok = tokenObject('alice', '2027-01-01T00:00:00Z');
    const forAdmin = tokenObject('admin');
    const orphan = tokenObject('ghost');
    const disabled = tokenObject('dora');
    feed.sync([userObject('alice'), userObject('admin'), userObject('dora', [], 'Disabled'), ok.object, forAdmin.object, orphan.object, disabled.object]);
    const refused = /Flotilla token is unknown, revoked or expired/;
    const tampered = ok.secret.slice(0, -1) + (ok.secret.endsWith('A') ? 'B' : 'A');
    for (const secret of [tampered, tokenObject('alice').secret, forAdmin.secret, orphan.secret, disabled.secret]) {
      await expect(authenticator.authenticate(bearer(secret))).rejects.toThrow(refused);
    }
    feed.change('DELETED', ok.object);
    await expect(authenticator.authenticate(bearer(ok.secret))).rejects.toThrow(refused);
    feed.change('ADDED', ok.object);
    await expect(authenticator.authenticate(bearer(ok.secret))).resolves.toMatchObject({ user: 'alice' });
    setNow(Date.parse('2027-01-01T00:00:00Z'));
    await expect(authenticator.authenticate(bearer(ok.secret))).rejects.toThrow(refused);
  });

  it('never puts the presented token into an error', async () => {
    const { feed, authenticator } = setup();
    feed.sync([]);
    const secret = tokenObject('alice').secret;
    for (const token of [secret, 'eyJhbGciOiJub25lIn0.e30.x', 'hello']) {
      const error = await authenticator.authenticate(bearer(token)).catch((e: Error) => e);
      expect(String((error as Error).message)).not.toContain(token);
      expect((error as Error).message).toMatch(/send "Authorization: Bearer <token>"/);
    }
  });

  it('answers ServiceUnavailable for a Flotilla token while the mirror loads', async () => {
    const { authenticator } = setup();
    await expect(authenticator.authenticate(bearer(tokenObject('alice').secret))).rejects.toThrow(/still loading/);
  });
});

describe('authentication, authorisation and SelfSubjectAccessReview over HTTP', () => {
  let server: Server;
  let base: string;
  const fx = setup();
  const carol = tokenObject('carol');
  const vera = tokenObject('vera');

  beforeAll(async () => {
    fx.feed.sync([
      userObject('carol'),
      userObject('vera'),
      carol.object,
      vera.object,
      fleetBinding('viewers', 'fleet-viewer', [{ kind: 'User', name: 'vera' }]),
      accessBinding('c', MemberRole.viewer, [{ kind: 'User', name: 'carol' }], { clusters: ['prod'] }),
    ]);
    const authorizer = new Authorizer(fx.mirror, new MapLabels());
    const app = express();
    app.use(fx.authenticator.middleware());
    app.use(authorizeMiddleware(authorizer));
    app.use('/apis', express.raw({ type: () => true, limit: 1024 * 1024 }));
    app.post(SSAR_PATH, selfSubjectAccessReviewHandler(authorizer));
    app.use((req, res) => res.json({ user: principalOf(req)?.user }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const call = (path: string, token?: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as object) } });
  const review = async (token: string, resourceAttributes: object) => {
    const res = await call(SSAR_PATH, token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } }),
    });
    return { code: res.status, body: (await res.json()) as { kind: string; status: { allowed: boolean; reason?: string } } };
  };

  it('answers 401 Status naming what to send, and leaves health open', async () => {
    const res = await call('/apis/cluster.kubesphere.io/v1alpha1/clusters');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="flotilla"');
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401, message: expect.stringContaining('Authorization: Bearer') });
    expect((await call('/docs')).headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await call('/healthz')).status).toBe(200);
    const basic = await fetch(`${base}/docs`, { headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN}`).toString('base64')}` } });
    expect(await basic.json()).toEqual({ user: 'admin' });
  });

  it('answers 403 Status as kube-apiserver does', async () => {
    const res = await call('/apis/cluster.kubesphere.io/v1alpha1/clusters/prod', vera.secret, { method: 'DELETE' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message: 'clusters "prod" is forbidden: User "vera" cannot delete resource "clusters" in API group "cluster.kubesphere.io"',
      details: { name: 'prod', group: 'cluster.kubesphere.io', kind: 'clusters' },
    });
    expect(await (await call('/apis/cluster.kubesphere.io/v1alpha1/clusters', vera.secret)).json()).toEqual({ user: 'vera' });
    expect((await call('/apis/cluster.kubesphere.io/v1alpha1/clusters/prod/proxy/api/v1/pods', carol.secret)).status).toBe(200);
    expect((await call('/clusters/other/api/v1/pods', carol.secret)).status).toBe(403);
    expect((await call('/apis/cluster.kubesphere.io/v1alpha1/clusters/a%2Fb', carol.secret)).status).toBe(400);
  });

  it('answers SelfSubjectAccessReviews as kubectl auth can-i expects', async () => {
    const denied = await review(vera.secret, { verb: 'delete', group: 'cluster.kubesphere.io', resource: 'clusters' });
    expect(denied.code).toBe(201);
    expect(denied.body).toMatchObject({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', status: { allowed: false } });
    expect((await review(vera.secret, { verb: 'list', group: 'cluster.kubesphere.io', resource: 'clusters' })).body.status.allowed).toBe(true);
    const member = await review(carol.secret, { verb: 'get', group: 'cluster.kubesphere.io', resource: 'clusters', subresource: 'proxy', name: 'prod' });
    expect(member.body.status).toMatchObject({ allowed: true, reason: expect.stringContaining('cluster-viewer') });
    expect((await review(carol.secret, { verb: 'get', resource: 'clusters', subresource: 'proxy', name: 'dev' })).body.status.allowed).toBe(false);
    const bad = await review(carol.secret, { group: 'x' });
    expect(bad.code).toBe(422);
  });
});
