import { ErrorReason } from '@flotilla/domain';
import type { OpenedCredentials } from './credential-vault';
import { MAX_BATCH_NAMES, batchNames, packBatch } from './credentials-batch';

const opened = (name: string, kubeconfig: string): OpenedCredentials => ({ name, uid: `uid-${name}`, credentials: { kubeconfig }, keyId: 'k1' });

describe('credential batches', () => {
  it('keeps the order asked, lists missing names, and stops at the byte budget naming the rest', () => {
    const big = 'x'.repeat(1000);
    const out = packBatch(['a', 'gone', 'b', 'c', 'd'], [opened('d', big), opened('c', big), opened('b', big), opened('a', big)], 2500);
    expect(out.items.map((i) => i.name)).toEqual(['a', 'b']);
    expect(out.missing).toEqual(['gone']);
    expect(out.remaining).toEqual(['c', 'd']);
  });

  it('answers at least one item even when it alone is over the budget (so asking again makes progress)', () => {
    const out = packBatch(['a', 'b'], [opened('a', 'x'.repeat(5000)), opened('b', 'y')], 100);
    expect(out.items.map((i) => i.name)).toEqual(['a']);
    expect(out.remaining).toEqual(['b']);
  });

  it('refuses too many names and empty ones with a BadRequest naming the field; duplicates count once', () => {
    expect(() => batchNames(Array.from({ length: MAX_BATCH_NAMES + 1 }, (_, i) => `n${i}`))).toThrow(expect.objectContaining({ reason: ErrorReason.BadRequest, message: expect.stringContaining('names: at most 1000') }));
    expect(() => batchNames(['a', ''])).toThrow(/names: each name must be 1-253 characters/);
    expect(batchNames(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(batchNames(undefined)).toEqual([]);
  });
});
