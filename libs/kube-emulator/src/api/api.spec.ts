import { conflictMessage, formatPath, type JsonObject, SEP, toFieldSet, toFieldsV1 } from '@flotilla/apply';
import { BUILTIN_SCHEMAS } from '../model/schema';
import { matchesLabels, parseLabelSelector, parseFieldSelector } from './selectors';
import { ObjectStore } from './store';
import { humanDuration } from '@flotilla/domain';
import { loadGolden } from '../testing/golden';

describe('managedFields field sets', () => {
  test('Update of a new ConfigMap records "." for maps (golden 023)', () => {
    const set = toFieldSet({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', labels: { app: 'demo' } }, data: { color: 'blue', removeme: 'x' } }, BUILTIN_SCHEMAS['v1/ConfigMap'], 'update');
    const golden = loadGolden('023-').response.body as JsonObject;
    const mf = ((golden.metadata as JsonObject).managedFields as JsonObject[])[0];
    expect(toFieldsV1(set)).toEqual(mf.fieldsV1);
  });
  test('Update of a defaulted Deployment matches the real server (golden 034)', () => {
    const golden = loadGolden('034-').response.body as JsonObject;
    const set = toFieldSet(golden, BUILTIN_SCHEMAS['apps/v1/Deployment'], 'update');
    const mf = ((golden.metadata as JsonObject).managedFields as JsonObject[])[0];
    expect(toFieldsV1(set)).toEqual(mf.fieldsV1);
  });
  test('Apply sets have no "." for maps; associative keys take defaults', () => {
    const set = toFieldSet({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { owner: 'a', shared: 'from-a' } }, BUILTIN_SCHEMAS['v1/ConfigMap'], 'apply');
    expect(toFieldsV1(set)).toEqual({ 'f:data': { 'f:owner': {}, 'f:shared': {} } });
    expect(formatPath(['f:spec', 'k:{"name":"web"}', 'f:image'].join(SEP))).toBe('.spec[name="web"].image');
  });
  test('conflict messages as recorded', () => {
    expect(conflictMessage([{ manager: { manager: 'a', operation: 'Apply', apiVersion: 'v1', set: new Set() }, member: ['f:data', 'f:shared'].join(SEP) }])).toBe('Apply failed with 1 conflict: conflict with "a": .data.shared');
  });
});

describe('selectors', () => {
  test('label selector syntax', () => {
    const sel = parseLabelSelector('app in (web,api),tier!=db,!legacy,env');
    expect(matchesLabels(sel, { app: 'web', env: 'prod' })).toBe(true);
    expect(matchesLabels(sel, { app: 'web', env: 'prod', legacy: 'y' })).toBe(false);
    expect(matchesLabels(sel, { app: 'web', tier: 'db', env: 'x' })).toBe(false);
    expect(() => parseLabelSelector('a b c')).toThrow();
  });
  test('field selectors are limited to supported fields', () => {
    expect(parseFieldSelector('metadata.name=x', '', 'configmaps', false)).toHaveLength(1);
    expect(() => parseFieldSelector('spec.foo=x', '', 'configmaps', false)).toThrow('field label not supported: spec.foo');
  });
});

describe('watch cache', () => {
  test('bounded history: resuming before the window is too old', () => {
    const s = new ObjectStore(1, 3);
    for (let i = 0; i < 5; i++) {
      const rv = s.nextRevision();
      s.put('/configmaps', `ns/c${i}`, 'ns', { metadata: { name: `c${i}`, resourceVersion: String(rv) } }, rv, 'ADDED');
    }
    expect(s.eventsSince(1, '/configmaps')).toBeUndefined();
    expect(s.eventsSince(4, '/configmaps')?.map((e) => e.rv)).toEqual([5, 6]);
    s.compact();
    expect(s.eventsSince(5, '/configmaps')).toBeUndefined();
    expect(s.eventsSince(6, '/configmaps')).toEqual([]);
  });
  test('ages print like kubectl', () => {
    expect(humanDuration(46_000)).toBe('46s');
    expect(humanDuration(152_000)).toBe('2m32s');
    expect(humanDuration(600_000)).toBe('10m');
  });
});
