import { FlotillaError } from '@flotilla/domain';
import { decodeObjectBody } from './body';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as FlotillaError).reason;
  }
  return 'accepted';
};

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
});
