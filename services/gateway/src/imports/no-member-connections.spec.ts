import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * ADR 0027: the public gateway never opens a connection to a member. Statically: of libs/kube
 * it uses only the offline kubeconfig rules, and it imports no network client of its own. (The
 * end-to-end test in test/e2e/import.e2e-spec.ts proves it dynamically: the emulator records
 * which process connects.)
 */
const SRC = join(__dirname, '..');
const ALLOWED_FROM_KUBE = new Set(['offlineKubeconfigCheck', 'needsPolicyDecision']);
const NETWORK_MODULES = /^(node:)?(net|tls|http|https|http2|dns|dgram)$|^(undici|axios|node-fetch|got|@kubernetes\/client-node)$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !/\.(int-)?spec\.ts$/.test(e.name) ? [p] : [];
  });
}

/** Every import statement of a file: the names it takes and the module. */
function imports(file: string): { names: string[]; from: string }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/import\s+(?:type\s+)?([\s\S]*?)\s+from\s+'([^']+)'/g)].map((m) => ({
    names: (m[1]!.match(/\{([\s\S]*)\}/)?.[1] ?? m[1]!)
      .split(',')
      .map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)
      .filter(Boolean),
    from: m[2]!,
  }));
}

describe('the gateway never connects to a member (static)', () => {
  const files = sources(SRC);

  it('finds the gateway sources', () => {
    expect(files.map((f) => relative(SRC, f))).toEqual(expect.arrayContaining(['imports/kubeconfig-guard.ts', 'imports/imports-api.service.ts']));
  });

  it('takes from @flotilla/kube only the offline kubeconfig rules (no MemberClient, runImportChecks, ClusterProber, parseForImport, ...)', () => {
    const used = files.flatMap((f) => imports(f).filter((i) => i.from === '@flotilla/kube' || i.from.startsWith('@flotilla/kube/')).flatMap((i) => i.names.map((n) => `${relative(SRC, f)}: ${n}`)));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !ALLOWED_FROM_KUBE.has(u.split(': ')[1]!))).toEqual([]);
  });

  it('imports no network client module', () => {
    const network = files.flatMap((f) => imports(f).filter((i) => NETWORK_MODULES.test(i.from)).map((i) => `${relative(SRC, f)}: ${i.from}`));
    expect(network).toEqual([]);
  });

  it('reads no import policy: its config has none of the policy variables', async () => {
    const { gatewayConfigShape } = await import('../config');
    const { importPolicyConfigShape } = await import('@flotilla/config');
    expect(Object.keys(importPolicyConfigShape).filter((k) => k in gatewayConfigShape)).toEqual([]);
  });
});
