import { randomUUID } from 'node:crypto';
import { JOBS, JobName } from './catalogue';
import { InvalidJobPayloadError, parsePayload } from './payload';
import { checkHandlers, JobHandler } from './worker-host';

const def = JOBS[JobName.ClusterImport];

describe('job payloads', () => {
  it('accepts a valid import payload and derives a stable idempotency key', () => {
    const uid = randomUUID();
    const p = parsePayload(def.name, def.schema, { name: 'member-1', uid });
    expect(def.idempotencyKey(p)).toBe(`cluster.import.${uid}`);
    expect(def.idempotencyKey(p)).not.toContain(':');
  });

  it('names each bad field and refuses anything extra (no credential can ride along)', () => {
    try {
      parsePayload(def.name, def.schema, { name: 'Bad Name', uid: 'nope', kubeconfig: 'secret' });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidJobPayloadError);
      const msg = (error as Error).message;
      expect(msg).toContain('name: must be a DNS-1123 label');
      expect(msg).toContain('uid: must be the cluster uid');
      expect(msg).toContain('unknown field(s) kubeconfig');
      expect(msg).not.toContain('secret');
    }
  });
});

describe('checkHandlers', () => {
  const handler = { definition: def, handle: async () => undefined } as JobHandler<unknown>;

  it('passes with exactly one handler per declared job', () => {
    expect(() => checkHandlers('svc', [def.name], [handler])).not.toThrow();
  });

  it('fails fast on a missing handler, a duplicate, or an undeclared one', () => {
    expect(() => checkHandlers('svc', [def.name], [])).toThrow(`job ${def.name} is declared by svc but has no handler`);
    expect(() => checkHandlers('svc', [def.name], [handler, handler])).toThrow(`job ${def.name} has 2 handlers`);
    expect(() => checkHandlers('svc', [], [handler])).toThrow('has a handler but svc does not declare it');
  });
});
