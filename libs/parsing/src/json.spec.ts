import { jsonDepthExceeds, parseJsonBounded } from './json';
import { ParseLimitError } from './limits';
import { thrownBy } from '@flotilla/testing';

const refusal = (fn: () => unknown): ParseLimitError => thrownBy(fn, ParseLimitError);

describe('parseJsonBounded', () => {
  it('parses JSON within the bounds', () => {
    expect(parseJsonBounded('{"a":[1,{"b":"[[[["}]}', 'the answer')).toEqual({ a: [1, { b: '[[[[' }] });
  });

  it('refuses size, depth and syntax with messages naming the input and the limit, never quoting it', () => {
    expect(refusal(() => parseJsonBounded(`"${'x'.repeat(2048)}"`, 'the answer', { maxBytes: 1024 }))).toMatchObject({ kind: 'size', message: 'the answer is larger than 1 KiB' });
    expect(refusal(() => parseJsonBounded('['.repeat(100_000), 'the request body'))).toMatchObject({ kind: 'depth', message: 'the request body nests deeper than 64 levels' });
    const syntax = refusal(() => parseJsonBounded('{"token": "SECRET-abc" oops}', 'the answer'));
    expect(syntax.kind).toBe('syntax');
    expect(syntax.message).not.toContain('SECRET');
  });

  it('counts depth outside strings only, and a stray closer cannot hide openers', () => {
    expect(jsonDepthExceeds('["[[[[[[[["]', 2)).toBe(false);
    expect(jsonDepthExceeds(`${']'.repeat(10)}${'['.repeat(3)}`, 2)).toBe(true);
  });
});
