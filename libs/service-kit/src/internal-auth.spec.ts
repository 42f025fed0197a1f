import { Metadata, status } from '@grpc/grpc-js';
import { ConfigError } from '@flotilla/config';
import { ANY_INTERNAL_CALLER, InternalAuthenticator, tokenDigest } from './internal-auth';

const TOKENS = { gateway: 'g'.repeat(40), probe: 'p'.repeat(40), probeNext: 'q'.repeat(40), operator: 'o'.repeat(40) };
const CALLERS = `gateway:${tokenDigest(TOKENS.gateway)},health-probe:${tokenDigest(TOKENS.probe)},health-probe:${tokenDigest(TOKENS.probeNext)},operator:${tokenDigest(TOKENS.operator)}`;
const TABLE = { '/p.S/Read': ['gateway', 'health-probe'], '/p.S/Secret': ['health-probe'], '/p.S/Status': ANY_INTERNAL_CALLER } as const;

const md = (token?: string) => {
  const m = new Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};

describe('InternalAuthenticator (the caller check of every gRPC server)', () => {
  const auth = new InternalAuthenticator(CALLERS, TABLE, false);

  it('tells the caller from its own token, and applies the method\'s allow-list', () => {
    expect(auth.check('/p.S/Read', { metadata: md(TOKENS.gateway) })).toEqual({ ok: true, identity: 'gateway' });
    expect(auth.check('/p.S/Secret', { metadata: md(TOKENS.gateway) })).toMatchObject({ ok: false, code: status.PERMISSION_DENIED, reason: 'not_allowed' });
    expect(auth.check('/p.S/Secret', { metadata: md(TOKENS.probe) })).toEqual({ ok: true, identity: 'health-probe' });
    expect(auth.check('/p.S/Status', { metadata: md(TOKENS.gateway) })).toEqual({ ok: true, identity: 'gateway' });
  });

  it('accepts both the old and the new token of an identity while it rotates', () => {
    expect(auth.check('/p.S/Secret', { metadata: md(TOKENS.probeNext) })).toEqual({ ok: true, identity: 'health-probe' });
  });

  it('refuses a missing, malformed or unknown token as UNAUTHENTICATED', () => {
    expect(auth.check('/p.S/Read', { metadata: md() })).toMatchObject({ ok: false, code: status.UNAUTHENTICATED, reason: 'missing_credentials' });
    const basic = new Metadata();
    basic.set('authorization', `Basic ${TOKENS.gateway}`);
    expect(auth.check('/p.S/Read', { metadata: basic })).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'missing_credentials' });
    expect(auth.check('/p.S/Read', { metadata: md('x'.repeat(40)) })).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'invalid_token' });
  });

  it('fails closed: a method the table does not declare is refused to everyone, the operator too', () => {
    for (const token of Object.values(TOKENS)) {
      expect(auth.check('/p.S/AddedLater', { metadata: md(token) })).toMatchObject({ ok: false, code: status.PERMISSION_DENIED, reason: 'undeclared_method' });
    }
    // The operator may call every declared method.
    expect(auth.check('/p.S/Secret', { metadata: md(TOKENS.operator) })).toEqual({ ok: true, identity: 'operator' });
  });

  it('under mTLS, needs a client certificate, naming the same identity as the token', () => {
    const tls = new InternalAuthenticator(CALLERS, TABLE, true);
    expect(tls.check('/p.S/Read', { metadata: md(TOKENS.gateway) })).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'no_client_certificate' });
    expect(tls.check('/p.S/Read', { metadata: md(TOKENS.gateway), certificateIdentity: 'health-probe' })).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'identity_mismatch' });
    expect(tls.check('/p.S/Read', { metadata: md(TOKENS.gateway), certificateIdentity: 'gateway' })).toEqual({ ok: true, identity: 'gateway' });
  });

  it('refuses a callers list that gives one token to two identities, or is malformed, naming the variable', () => {
    const digest = tokenDigest(TOKENS.gateway);
    expect(() => new InternalAuthenticator(`gateway:${digest},health-probe:${digest}`, TABLE, false)).toThrow(ConfigError);
    expect(() => new InternalAuthenticator('gateway:nothex', TABLE, false)).toThrow(/FLOTILLA_INTERNAL_CALLERS/);
  });
});
