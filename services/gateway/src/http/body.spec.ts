import { FlotillaError } from '@flotilla/domain';
import { decodeObjectBody, patchBodyText } from './body';
import { thrownBy } from '@flotilla/testing';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as FlotillaError).reason;
  }
  return 'accepted';
};

const refusal = (fn: () => unknown): FlotillaError => thrownBy(fn, FlotillaError);

describe('decodeObjectBody', () => {
  it('reads JSON and single-document YAML', () => {
    expect(decodeObjectBody(Buffer.from('{"a":1}'), 'application/json')).toEqual({ a: 1 });
    expect(decodeObjectBody(Buffer.from('a: 1\nb: [x]\n'), 'application/yaml')).toEqual({ a: 1, b: ['x'] });
  });

  it('refuses YAML alias bombs, several documents, and broken syntax as BadRequest', () => {
    const bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n';
    expect(reasonOf(() => decodeObjectBody(Buffer.from(bomb), 'application/yaml'))).toBe('BadRequest');
    expect(reasonOf(() => decodeObjectBody(Buffer.from('a: 1\n---\nb: 2\n'), 'application/yaml'))).toBe('BadRequest');
    expect(reasonOf(() => decodeObjectBody(Buffer.from('{"a":'), 'application/json'))).toBe('BadRequest');
    expect(reasonOf(() => decodeObjectBody(Buffer.from(''), 'application/json'))).toBe('BadRequest');
  });

  it('refuses unknown media types with 415', () => {
    expect(reasonOf(() => decodeObjectBody(Buffer.from('<x/>'), 'application/xml'))).toBe('UnsupportedMediaType');
  });

  it.each([
    ['3,000 [ as YAML', '['.repeat(3000), 'application/yaml', /^the request body nests deeper than 64 levels$/],
    ['100,000 [ as YAML', '['.repeat(100_000), 'application/yaml', /more than 5000 YAML lines and structural elements/],
    ['100,000 [ as JSON', '['.repeat(100_000), 'application/json', /^the request body nests deeper than 64 levels$/],
    ['100,000 keys as YAML', Array.from({ length: 100_000 }, (_, i) => `k${i}: v`).join('\n'), 'application/yaml', /more than 5000 YAML lines/],
  ])('refuses %s as BadRequest naming the body and the limit, every time', (_name, text, type, message) => {
    for (let i = 0; i < 5; i++) {
      const error = refusal(() => decodeObjectBody(Buffer.from(text), type));
      expect(error.reason).toBe('BadRequest');
      expect(error.message).toMatch(message);
      expect(error.details.causes?.[0]?.field).toBe('body');
    }
  });

  it('refuses a body over 3 MiB with 413 RequestEntityTooLarge naming the limit', () => {
    const error = refusal(() => decodeObjectBody(Buffer.from(`a: ${'x'.repeat(3 * 1024 * 1024)}`), 'application/yaml'));
    expect(error.reason).toBe('RequestEntityTooLarge');
    expect(error.message).toMatch(/larger than 3 MiB/);
  });
});

describe('patchBodyText', () => {
  it('passes a JSON patch through and refuses empty, broken or too deep ones as BadRequest naming the patch', () => {
    expect(patchBodyText(Buffer.from('{"spec":{}}'))).toBe('{"spec":{}}');
    for (const body of ['', '{"spec":', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`]) {
      const error = refusal(() => patchBodyText(Buffer.from(body)));
      expect(error.reason).toBe('BadRequest');
      expect(error.details.causes?.[0]?.field).toBe('patch');
    }
  });
});
