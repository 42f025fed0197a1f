import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { thrownBy } from '@flotilla/testing';
import { auditEventList, parseAuditQuery } from './audit-query';

describe('audit query parameters', () => {
  it('passes the filters on, with times in UTC and a default page size', () => {
    expect(parseAuditQuery({ user: 'oidc:alice@example.com', cluster: 'prod-eu', verb: 'delete', since: '2026-01-31T12:00:00+01:00', until: '2026-01-31T12:00:00.5Z', continue: 'abc' })).toEqual({
      user: 'oidc:alice@example.com',
      cluster: 'prod-eu',
      verb: 'delete',
      since: '2026-01-31T11:00:00.000Z',
      until: '2026-01-31T12:00:00.500Z',
      limit: 500,
      continue: 'abc',
    });
    expect(parseAuditQuery({ limit: '1000', user: '' })).toEqual({ limit: 1000 });
  });

  it.each([
    ['since', { since: 'yesterday' }],
    ['since', { since: '2026-01-31' }],
    ['until', { until: '2026-02-30T00:00:00Z' }],
    ['until', { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: '1001' }],
    ['limit', { limit: '-1' }],
    ['limit', { limit: '5.5' }],
    ['verb', { verb: 'DELETE' }],
    ['user', { user: ['a', 'b'] }],
    ['user', { user: 'x'.repeat(600) }],
    ['continue', { continue: 'x'.repeat(5000) }],
  ])('refuses a bad %s with a 400 naming it', (field, query) => {
    const error = thrownBy(() => parseAuditQuery(query as Record<string, unknown>), FlotillaError);
    expect(error.reason).toBe(ErrorReason.BadRequest);
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    expect(error.details.causes).toEqual([expect.objectContaining({ field })]);
  });

  it('answers in a Kubernetes list shape', () => {
    expect(auditEventList({ items: [], continue: 'next' })).toEqual({ apiVersion: 'audit.flotilla.io/v1alpha1', kind: 'EventList', metadata: { continue: 'next' }, items: [] });
    expect(auditEventList({ items: [] }).metadata).toEqual({});
  });
});
