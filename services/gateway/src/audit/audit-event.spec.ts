import { buildAuditEvent, redactRequestURI } from './audit-event';

describe('audit event shape', () => {
  const startedAt = new Date('2026-03-01T10:00:00.000Z');
  const now = BigInt(Date.parse('2026-03-01T10:00:00.042Z')) * 1000n + 123n;

  it('is an audit.k8s.io/v1 Event at Metadata level, with who, what, outcome and source', () => {
    const event = buildAuditEvent(
      {
        principal: { user: 'alice', groups: ['dev'], tokenId: 'tabc123', via: 'token' },
        verb: 'delete',
        requestURI: '/api/v1/namespaces/web/pods/p1?gracePeriodSeconds=0',
        cluster: 'prod-eu',
        objectRef: { resource: 'pods', namespace: 'web', name: 'p1', apiGroup: '', apiVersion: 'v1' },
        code: 200,
        startedAt,
        sourceIP: '10.0.0.7',
        userAgent: 'kubectl/v1.33.9',
        requestId: 'req-1',
      },
      now,
    );
    expect(event).toEqual({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/web/pods/p1?gracePeriodSeconds=0',
      verb: 'delete',
      user: { username: 'alice', groups: ['dev'], extra: { 'flotilla.io/token-id': ['tabc123'] } },
      sourceIPs: ['10.0.0.7'],
      userAgent: 'kubectl/v1.33.9',
      objectRef: { resource: 'pods', namespace: 'web', name: 'p1', apiGroup: '', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: '2026-03-01T10:00:00.000000Z',
      stageTimestamp: '2026-03-01T10:00:00.042123Z',
      annotations: { 'flotilla.io/cluster': 'prod-eu', 'flotilla.io/latency-ms': '42', 'flotilla.io/request-id': 'req-1' },
    });
    // Never a body, in any form.
    expect(Object.keys(event)).not.toEqual(expect.arrayContaining(['requestObject']));
    expect(Object.keys(event)).not.toEqual(expect.arrayContaining(['responseObject']));
  });

  it('writes microsecond timestamps, as Kubernetes does', () => {
    const event = buildAuditEvent({ verb: 'get', requestURI: '/x', code: 200, startedAt: new Date() });
    expect(event.stageTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(Math.abs(Date.parse(event.stageTimestamp) - Date.now())).toBeLessThan(1000);
  });

  it('gives each event its own auditID, whatever request id a client chose', () => {
    const again = { verb: 'delete', requestURI: '/x', code: 200, startedAt, requestId: 'chosen-by-client' };
    expect(buildAuditEvent(again).auditID).not.toBe(buildAuditEvent(again).auditID);
  });

  it('names unauthenticated callers as Kubernetes does', () => {
    const event = buildAuditEvent({ verb: 'get', requestURI: '/openapi.json', code: 401, startedAt }, now);
    expect(event.user).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'] });
    expect(event.auditID).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.sourceIPs).toEqual([]);
    expect(event.annotations).toEqual({ 'flotilla.io/latency-ms': '42' });
  });
});

describe('requestURI redaction', () => {
  it.each([
    ['/x?access_token=SECRET', '/x'],
    ['/x?watch=true&access_token=SECRET&limit=5', '/x?watch=true&limit=5'],
    ['/x?token=SECRET', '/x'],
    ['/x?id_token=SECRET&code=SECRET&state=s', '/x?state=s'],
    ['/x?Access%5FToken=SECRET', '/x'],
    ['/x?client_secret=SECRET&password=SECRET&apiKey=SECRET', '/x'],
    ['/x?labelSelector=env%3Dprod&continue=abc', '/x?labelSelector=env%3Dprod&continue=abc'],
    ['/x?%E0%A4%A=SECRET', '/x'],
    ['/x?', '/x'],
    ['/x', '/x'],
  ])('%s -> %s', (uri, expected) => {
    expect(redactRequestURI(uri)).toBe(expected);
    expect(buildAuditEvent({ verb: 'get', requestURI: uri, code: 200, startedAt: new Date() }).requestURI).toBe(expected);
  });

  it('bounds what it keeps', () => {
    expect(redactRequestURI(`/x?labelSelector=${'a'.repeat(10_000)}`).length).toBeLessThan(4200);
  });
});
