import { FlotillaError } from '../errors/flotilla-error';
import { parseFieldSelector } from './field-selector';
import { matchesLabels, parseLabelSelector } from './label-selector';

describe('label selectors', () => {
  const labels = { env: 'prod', tier: 'web', 'cluster-role.kubesphere.io/host': '' };

  it.each([
    ['env=prod', true],
    ['env==prod', true],
    ['env!=prod', false],
    ['env in (dev, prod)', true],
    ['env notin (dev,prod)', false],
    ['tier,env=prod', true],
    ['!tier', false],
    ['missing', false],
    ['!missing', true],
    ['cluster-role.kubesphere.io/host', true],
    ['env=prod,tier in (db)', false],
    ['', true],
  ])('%s matches: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['env=pr od', 'env in (a', '=prod', 'a,,b', 'bad key=1'])('refuses %s with BadRequest naming labelSelector', (selector) => {
    try {
      parseLabelSelector(selector);
      throw new Error(`accepted ${selector}`);
    } catch (error) {
      expect(error).toBeInstanceOf(FlotillaError);
      expect((error as FlotillaError).reason).toBe('BadRequest');
      expect((error as FlotillaError).details.causes?.[0]?.field).toBe('labelSelector');
    }
  });
});

describe('field selectors', () => {
  it('parses supported fields and refuses others as the API server does', () => {
    expect(parseFieldSelector('metadata.name=a,metadata.name!=b', ['metadata.name'])).toEqual([
      { field: 'metadata.name', operator: 'In', value: 'a' },
      { field: 'metadata.name', operator: 'NotIn', value: 'b' },
    ]);
    expect(() => parseFieldSelector('spec.provider=eks', ['metadata.name'])).toThrow('field label not supported: spec.provider');
  });
});

describe('selector bounds (linear parsing, length and requirement limits)', () => {
  const causeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(FlotillaError);
      expect((error as FlotillaError).reason).toBe('BadRequest');
      return { ...(error as FlotillaError).details.causes?.[0], errorMessage: (error as FlotillaError).message };
    }
    throw new Error('accepted');
  };

  it.each([
    ['1 MB of one key', 'a'.repeat(1024 * 1024)],
    ['1 MB of requirements', 'env=prod,'.repeat(120_000)],
    ['1 MB of set values', `env in (${'a,'.repeat(500_000)}b)`],
    ['1 MB of spaces', `env=${' '.repeat(1024 * 1024)}x`],
  ])('refuses a label selector of %s, naming labelSelector and the limit, without echoing it', (_name, selector) => {
    const cause = causeOf(() => parseLabelSelector(selector));
    expect(cause).toMatchObject({ field: 'labelSelector', reason: 'FieldValueTooLong' });
    expect(cause.errorMessage).toMatch(/^labelSelector is too long: must be at most 4096 characters/);
    expect(cause.errorMessage.length).toBeLessThan(300);
  });

  it('refuses more than 100 requirements, and accepts 100', () => {
    const requirements = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`).join(',');
    expect(parseLabelSelector(requirements(100))).toHaveLength(100);
    expect(causeOf(() => parseLabelSelector(requirements(101)))).toMatchObject({ field: 'labelSelector', message: expect.stringMatching(/at most 100 requirements/) });
    expect(causeOf(() => parseFieldSelector(Array.from({ length: 101 }, () => 'metadata.name=a').join(','), ['metadata.name']))).toMatchObject({ field: 'fieldSelector' });
  });

  it('parses a selector at the length limit in one pass', () => {
    const values = Array.from({ length: 400 }, (_, i) => `v${i}`).join(',');
    const selector = `env in (${values})`.padEnd(4096, ' ');
    expect(parseLabelSelector(selector)).toEqual([{ key: 'env', operator: 'In', values: values.split(',') }]);
  });

  it('keeps the Kubernetes forms: empty values, spaces around operators, notin sets', () => {
    expect(parseLabelSelector('env=,tier = web , zone notin ( a , b )')).toEqual([
      { key: 'env', operator: 'In', values: [''] },
      { key: 'tier', operator: 'In', values: ['web'] },
      { key: 'zone', operator: 'NotIn', values: ['a', 'b'] },
    ]);
    expect(causeOf(() => parseLabelSelector('env in a'))).toMatchObject({ field: 'labelSelector', message: 'expected "(" after in, found "a"' });
  });

  it('refuses a 1 MB field selector and keeps the field selector forms', () => {
    expect(causeOf(() => parseFieldSelector(`metadata.name=${'a'.repeat(1024 * 1024)}`, ['metadata.name']))).toMatchObject({ field: 'fieldSelector', reason: 'FieldValueTooLong' });
    expect(parseFieldSelector(' metadata.name == a=b , metadata.name!=  c ', ['metadata.name'])).toEqual([
      { field: 'metadata.name', operator: 'In', value: 'a=b' },
      { field: 'metadata.name', operator: 'NotIn', value: 'c' },
    ]);
    for (const bad of ['metadata.name', 'metadata.name=a,', 'meta data=a', '=a', 'a!b=c']) {
      expect(causeOf(() => parseFieldSelector(bad, ['metadata.name']))).toMatchObject({ field: 'fieldSelector' });
    }
  });
});
