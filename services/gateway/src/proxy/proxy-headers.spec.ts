import { callerResponseHeaders, impersonationRefusal, impersonationRequested, memberRequestHeaders, scanRequestHeaders } from './proxy-headers';

describe('proxy header rules', () => {
  // As Node gives them in rawHeaders: names as sent, repeated lines kept.
  const caller = [
    'Authorization', 'Bearer flt_caller_secret',
    'Cookie', 'session=1',
    'Host', 'flotilla.example',
    'Accept', 'application/json',
    'Content-Type', 'application/json',
    'Content-Length', '12',
    'Connection', 'keep-alive, X-Secret-Hop',
    'X-Secret-Hop', 'drop me',
    'Keep-Alive', 'timeout=5',
    'Transfer-Encoding', 'chunked',
    'TE', 'trailers',
    'Proxy-Authorization', 'Basic eA==',
    'Impersonate-User', 'system:admin',
    'Impersonate-Group', 'system:masters',
    'Impersonate-Extra-Scopes', 'x',
    'X-Remote-User', 'system:admin',
    'X-Forwarded-For', '6.6.6.6',
    'Expect', '100-continue',
    'X-Stream-Protocol-Version', 'v4.channel.k8s.io',
    'X-Stream-Protocol-Version', 'v3.channel.k8s.io',
  ];

  it('strips credentials, identity, hop-by-hop and Connection-listed headers, and adds Flotilla\'s impersonation', () => {
    const scanned = scanRequestHeaders(caller);
    expect(scanned.impersonation).toEqual({ user: 'system:admin', groups: ['system:masters'], other: ['impersonate-extra-scopes'] });
    const out = memberRequestHeaders(scanned.forward, { impersonate: true, user: 'alice', role: 'cluster-viewer' }, { forwardedFor: '10.0.0.1', requestId: 'r1' });
    expect(out).toEqual([
      'Accept', 'application/json',
      'Content-Type', 'application/json',
      'Content-Length', '12',
      'X-Stream-Protocol-Version', 'v4.channel.k8s.io',
      'X-Stream-Protocol-Version', 'v3.channel.k8s.io',
      'Impersonate-User', 'flotilla:user:alice',
      'Impersonate-Group', 'flotilla:role:cluster-viewer',
      'X-Forwarded-For', '10.0.0.1',
      'X-Request-Id', 'r1',
    ]);
  });

  it('sends no impersonation when it is off, and puts the upgrade pair back for upgrades', () => {
    const out = memberRequestHeaders(scanRequestHeaders([...caller, 'Upgrade', 'SPDY/3.1', 'Connection', 'Upgrade']).forward, { impersonate: false }, { upgrade: 'SPDY/3.1' });
    const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((k) => k.startsWith('impersonate-'))).toEqual([]);
    expect(names.filter((k) => k === 'connection' || k === 'upgrade' || k === 'authorization')).toEqual(['connection', 'upgrade']);
    expect(out.slice(out.indexOf('Connection'), out.indexOf('Connection') + 4)).toEqual(['Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1']);
  });

  it('passes response headers but hop-by-hop ones and those the member\'s Connection lists', () => {
    expect(callerResponseHeaders(['Content-Type', 'application/json', 'Connection', 'close, x-internal', 'X-Internal', '1', 'Transfer-Encoding', 'chunked', 'Warning', '299 - "a"', 'Warning', '299 - "b"'])).toEqual([
      'Content-Type', 'application/json',
      'Warning', '299 - "a"',
      'Warning', '299 - "b"',
    ]);
  });

  it('reads a caller\'s impersonation request', () => {
    expect(impersonationRequested(['Accept', '*/*'])).toBeUndefined();
    expect(impersonationRequested(['Impersonate-User', 'bob', 'Impersonate-Group', 'ops', 'impersonate-group', 'dev,qa'])).toEqual({ user: 'bob', groups: ['ops', 'dev', 'qa'], other: [] });
  });

  it.each([
    [{ user: 'system:admin', groups: [], other: [] }, /system: and flotilla: names/],
    [{ user: 'bob', groups: ['system:masters'], other: [] }, /"system:masters" is refused/],
    [{ user: 'flotilla:user:bob', groups: [], other: [] }, /flotilla:/],
    [{ groups: ['ops'], other: [] }, /without Impersonate-User/],
    [{ user: 'bob', groups: [], other: ['impersonate-uid'] }, /impersonate-uid is not supported/],
  ])('refuses impersonating %j', (request, why) => {
    expect(impersonationRefusal(request)?.message).toMatch(why);
  });

  it('lets a fleet-admin act as a plain Flotilla user', () => {
    expect(impersonationRefusal({ user: 'bob', groups: ['ops'], other: [] })).toBeUndefined();
  });
});
