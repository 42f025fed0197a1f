import { labelSelectorMatches, labelSelectorRequirements, labelSelectorString, matchesLabels, parseLabelSelector } from './label-selector';

describe('labelSelectorString', () => {
  it('writes a LabelSelector in the syntax parseLabelSelector reads, with the same meaning', () => {
    const text = labelSelectorString({
      matchLabels: { env: 'prod' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'zone', operator: 'NotIn', values: ['x'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(text).toBe('env=prod,tier in (a,b),zone notin (x),gpu,!legacy');
    const requirements = parseLabelSelector(text);
    expect(matchesLabels(requirements, { env: 'prod', tier: 'b', gpu: '1' })).toBe(true);
    expect(matchesLabels(requirements, { env: 'prod', tier: 'b', gpu: '1', legacy: 'y' })).toBe(false);
    expect(matchesLabels(requirements, { env: 'prod', tier: 'b', zone: 'x', gpu: '1' })).toBe(false);
  });

  it('writes the empty selector as the empty string (everything)', () => {
    expect(labelSelectorString({})).toBe('');
    expect(parseLabelSelector('')).toEqual([]);
  });

  it('writes In without values as `in ()`, which reads back as the empty value (callers refuse it first)', () => {
    expect(parseLabelSelector(labelSelectorString({ matchExpressions: [{ key: 'tier', operator: 'In' }] }))).toEqual([{ key: 'tier', operator: 'In', values: [''] }]);
  });
});

describe('labelSelectorMatches: the one reading of stored selectors (the authorizer and the member impersonation sync)', () => {
  const labels = { env: 'prod', tier: 'web' };
  it('follows Kubernetes: {} selects everything, a missing selector nothing', () => {
    expect(labelSelectorMatches({}, labels)).toBe(true);
    expect(labelSelectorMatches(undefined, labels)).toBe(false);
    expect(labelSelectorMatches({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, labels)).toBe(true);
  });

  it('fails closed on what it cannot read: NotIn or In without values, an unknown operator', () => {
    // NotIn [] once matched every cluster in the impersonation sync while the authorizer matched none.
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: [] }] }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'env', operator: 'In' }] }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'env', operator: 'Gt' as never, values: ['1'] }] }, labels)).toBe(false);
    expect(labelSelectorRequirements({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: [] }] })).toBeNull();
  });
});
