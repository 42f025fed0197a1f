/**
 * The emulator's folders depend one way (see the map at the top of index.ts): each file imports
 * only from its own folder or from a folder below it, no files import each other in a circle, and
 * only specs use the test helpers in testing/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = __dirname;

/** Rank of each unit: a file may import from its own unit or from a unit of lower rank. */
const RANK: Record<string, number> = { model: 0, pki: 0, patch: 1, testing: 1, api: 2, cluster: 3, server: 4, face: 5 };

const isSpec = (file: string): boolean => /\.(int-)?spec\.ts$/.test(file);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function unitOf(file: string): string {
  const rel = relative(SRC, file);
  const folder = rel.includes('/') ? rel.split('/')[0] : 'face';
  if (!(folder in RANK)) throw new Error(`${rel}: folder "${folder}" has no place in the layering: add it to RANK here and to the map in index.ts`);
  return folder;
}

/** Relative imports of a file, resolved to files. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => `${resolve(dirname(file), s)}.ts`);
}

const all = files(SRC);

describe('kube-emulator layering', () => {
  it('knows every folder', () => {
    expect(() => all.map(unitOf)).not.toThrow();
  });

  it('imports only downwards', () => {
    const violations = all.flatMap((f) =>
      localImports(f)
        .filter((target) => unitOf(target) !== unitOf(f) && RANK[unitOf(target)] >= RANK[unitOf(f)])
        .map((target) => `${relative(SRC, f)} -> ${relative(SRC, target)}`),
    );
    expect(violations).toEqual([]);
  });

  it('keeps testing/ for specs', () => {
    const violations = all.filter((f) => !isSpec(f) && unitOf(f) !== 'testing' && localImports(f).some((t) => unitOf(t) === 'testing')).map((f) => relative(SRC, f));
    expect(violations).toEqual([]);
  });

  it('has no import cycles between files', () => {
    const graph = new Map(all.map((f) => [f, localImports(f).filter((t) => all.includes(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(SRC, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
