import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The house rules of docs/architecture.md, checked on every import in the tree. */
const root = join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'generated' || name === 'golden') return [];
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const isTest = (file: string) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(file);
const files = [...sources(join(root, 'services')), ...sources(join(root, 'libs'))].map((f) => relative(root, f).split(sep).join('/'));

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

function resolveTarget(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return join(file, '..', spec).split(sep).join('/');
}

describe('architecture rules', () => {
  it('finds the sources it checks', () => {
    expect(files.filter((f) => f.startsWith('services/')).length).toBeGreaterThan(20);
    expect(files.filter((f) => f.startsWith('libs/')).length).toBeGreaterThan(20);
  });

  it('a service never imports another service, and libs never import services', () => {
    const violations: string[] = [];
    for (const file of files) {
      const [top, owner] = file.split('/');
      for (const spec of imports(file)) {
        const target = resolveTarget(file, spec);
        if (target.startsWith('services/') && (top === 'libs' || target.split('/')[1] !== owner)) violations.push(`${file} -> ${spec}`);
        if (/^@flotilla\/(gateway|registry|provider-import|health-probe|federation-sync)/.test(spec)) violations.push(`${file} -> ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only repositories, entities, migrations and libs/persistence touch TypeORM', () => {
    const allowed = (f: string) =>
      /\.(repository|entity)\.ts$/.test(f) || f.includes('/migrations/') || f.startsWith('libs/persistence/') || /(registry\.module|readiness)\.ts$/.test(f) || isTest(f);
    const violations = files.filter((f) => !allowed(f) && imports(f).some((s) => s === 'typeorm' || s.startsWith('typeorm/')));
    expect(violations).toEqual([]);
  });

  it('only libs/kube (and the test emulator) talk to @kubernetes/client-node', () => {
    const violations = files.filter((f) => !f.startsWith('libs/kube/') && !f.startsWith('libs/kube-emulator/') && !isTest(f) && imports(f).some((s) => s.startsWith('@kubernetes/client-node')));
    expect(violations).toEqual([]);
  });

  it('no service depends on the Kubernetes API emulator at run time', () => {
    const violations = files.filter((f) => f.startsWith('services/') && !isTest(f) && imports(f).some((s) => s.startsWith('@flotilla/kube-emulator')));
    expect(violations).toEqual([]);
  });

  it('domain code stays pure: no Nest, no I/O', () => {
    const forbidden = /^(@nestjs\/|typeorm|pg$|ioredis|bullmq|node:(fs|net|http|https|child_process))/;
    const violations = files.filter((f) => f.startsWith('libs/domain/') && imports(f).some((s) => forbidden.test(s)));
    expect(violations).toEqual([]);
  });

  it('has no `export *` barrels', () => {
    const violations = files.filter((f) => /(^|\n)\s*export \* from/.test(readFileSync(join(root, f), 'utf8')));
    expect(violations).toEqual([]);
  });
});
