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
