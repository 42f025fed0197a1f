import { FlotillaError } from '../errors/flotilla-error';
import { NOT_ACCEPTABLE_MESSAGE, negotiateTable, parseIncludeObject } from './negotiate';
import { NAME_COLUMN, ageColumn, humanDuration, tableColumn, toTable } from './table';

const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('negotiateTable', () => {
  it('serves the Table kubectl asks for, in v1 or v1beta1, and JSON otherwise', () => {
    expect(negotiateTable(KUBECTL_ACCEPT)).toEqual({ as: 'Table' });
    expect(negotiateTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io')).toEqual({ as: 'Table' });
    expect(negotiateTable(undefined)).toEqual({ as: 'json' });
    expect(negotiateTable('application/json')).toEqual({ as: 'json' });
    expect(negotiateTable('*/*')).toEqual({ as: 'json' });
  });

  it('skips representations it does not serve, and is 406 when nothing acceptable is left', () => {
    expect(negotiateTable('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json')).toEqual({ as: 'json' });
    expect(negotiateTable('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1')).toEqual({ as: 'notAcceptable', message: NOT_ACCEPTABLE_MESSAGE });
    expect(negotiateTable('application/json;as=Table;g=meta.k8s.io;v=v2')).toMatchObject({ as: 'notAcceptable' });
    expect(negotiateTable('application/json;as=Table;g=example.com;v=v1')).toMatchObject({ as: 'notAcceptable' });
    expect(negotiateTable('text/html')).toMatchObject({ as: 'notAcceptable' });
  });

  it('parses includeObject, refusing other values by name', () => {
    expect(parseIncludeObject(undefined)).toBe('Metadata');
    expect(parseIncludeObject('None')).toBe('None');
    expect(parseIncludeObject('Object')).toBe('Object');
    expect(() => parseIncludeObject('All')).toThrow(FlotillaError);
    expect(() => parseIncludeObject(['None', 'Object'])).toThrow(/includeObject/);
  });
});

describe('toTable', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'golden', uid: 'u1', resourceVersion: '243', creationTimestamp: '2026-01-01T00:07:28Z' }, status: { phase: 'Active' } };
  const columns = [NAME_COLUMN, tableColumn('Status', 'The status of the namespace', (o) => String((o.status as { phase: string }).phase)), ageColumn()];

  it('is shaped as kube-apiserver answers (golden 092): definitions, cells, PartialObjectMetadata', () => {
    const t = toTable(columns, [ns], { resourceVersion: '513' }, { nowMs: now });
    expect(Object.keys(t)).toEqual(['kind', 'apiVersion', 'metadata', 'columnDefinitions', 'rows']);
    expect(t.columnDefinitions![0]).toEqual({ name: 'Name', type: 'string', format: 'name', description: expect.stringContaining('Name must be unique'), priority: 0 });
    expect(t.rows).toEqual([{ cells: ['golden', 'Active', '2m32s'], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ns.metadata } }]);
  });

  it('carries the whole object, or none, as includeObject asks; no columns in later watch events', () => {
    expect(toTable(columns, [ns], {}, { include: 'Object', nowMs: now }).rows[0]!.object).toBe(ns);
    expect(toTable(columns, [ns], {}, { include: 'None', nowMs: now }).rows[0]).toEqual({ cells: ['golden', 'Active', '2m32s'] });
    expect(toTable(columns, [ns], {}, { withColumns: false }).columnDefinitions).toBeNull();
  });

  it('shows a cell that cannot be computed as empty rather than failing the read', () => {
    const broken = tableColumn('Broken', 'throws', () => {
      throw new Error('no');
    });
    expect(toTable([NAME_COLUMN, broken], [ns], {}).rows[0]!.cells).toEqual(['golden', '']);
  });

  it('writes ages as kubectl does', () => {
    expect(humanDuration(0)).toBe('0s');
    expect(humanDuration(152_000)).toBe('2m32s');
    expect(humanDuration(10 * 60_000)).toBe('10m');
    expect(humanDuration(5 * 3_600_000 + 7 * 60_000)).toBe('5h7m');
    expect(humanDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d4h');
    expect(humanDuration(-5000)).toBe('<invalid>');
  });
});
