import type { ErrorCause } from '../errors/flotilla-error';
import { MAX_ANNOTATIONS_BYTES, type MetadataCauses, validateLabelsAndAnnotations } from './object-meta';

class Collected implements MetadataCauses {
  readonly list: ErrorCause[] = [];
  invalid(field: string, value: unknown, why: string): void {
    this.list.push({ reason: 'FieldValueInvalid', field, message: `${JSON.stringify(value)}: ${why}` });
  }
  tooLong(field: string, max: string): void {
    this.list.push({ reason: 'FieldValueTooLong', field, message: max });
  }
}

describe('validateLabelsAndAnnotations', () => {
  it('returns the labels and annotations given, and nothing for absent ones', () => {
    const causes = new Collected();
    expect(validateLabelsAndAnnotations({ labels: { env: 'prod', 'example.com/tier': 'a' }, annotations: { note: 'any text: at all' } }, causes)).toEqual({
      labels: { env: 'prod', 'example.com/tier': 'a' },
      annotations: { note: 'any text: at all' },
    });
    expect(validateLabelsAndAnnotations({}, causes)).toEqual({});
    expect(causes.list).toEqual([]);
  });

  it('names every bad key, value and shape', () => {
    const causes = new Collected();
    const out = validateLabelsAndAnnotations({ labels: { 'bad key': 'ok', env: 'not ok!', n: 3 }, annotations: ['x'] }, causes);
    expect(out).toEqual({ labels: { 'bad key': 'ok', env: 'not ok!' } });
    expect(causes.list.map((c) => c.field)).toEqual(['metadata.labels', 'metadata.labels[env]', 'metadata.labels[n]', 'metadata.annotations']);
  });

  it('counts annotations in bytes, as the API server does', () => {
    const causes = new Collected();
    const fits = 'a'.repeat(MAX_ANNOTATIONS_BYTES - 1);
    validateLabelsAndAnnotations({ annotations: { k: fits } }, causes);
    expect(causes.list).toEqual([]);
    // Fewer characters than the limit, more bytes (é is 2 bytes in UTF-8).
    validateLabelsAndAnnotations({ annotations: { k: 'é'.repeat(MAX_ANNOTATIONS_BYTES / 2) } }, causes);
    expect(causes.list).toEqual([{ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: '262144 bytes' }]);
  });
});
