import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * ADR 0027 as amended by ADR 0032: in the gateway only the API proxy (src/proxy/) connects to
 * members, through libs/kube's MemberTransport under the member address policy. Everything else
 * (import, validation, rotation) stays provider-import's: of libs/kube the rest of the gateway
 * uses only the offline kubeconfig rules, and it imports no network client of its own.
 */
const SRC = join(__dirname, '..');
const PROXY = join(SRC, 'proxy');
const ALLOWED_FROM_KUBE = new Set(['offlineKubeconfigCheck', 'needsPolicyDecision']);
/** What the proxy may take from libs/kube: the transport, the stored-connection rules, the policy. */
const PROXY_FROM_KUBE = new Set(['MemberTransport', 'MemberTransportOptions', 'MemberUpgrade', 'resolveMember', 'memberPolicyFromConfig', 'MemberAddressPolicy', 'MEMBER_ROLE_ANNOTATION', 'MemberUnavailableError', 'StoredCredentials', 'ResolvedKubeconfig']);
const NETWORK_MODULES = /^(node:)?(net|tls|http|https|http2|dns|dgram)$|^(undici|axios|node-fetch|got|@kubernetes\/client-node)$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !/\.(int-)?spec\.ts$/.test(e.name) ? [p] : [];
  });
}

/** Every import statement of a file: the names it takes and the module. */
function imports(file: string): { names: string[]; from: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/import\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)'/g)].map((m) => ({
    typeOnly: m[1] !== undefined,
    names: (m[2]!.match(/\{([\s\S]*)\}/)?.[1] ?? m[2]!)
      .split(',')
      .map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)
      .filter(Boolean),
    from: m[3]!,
  }));
}

describe('only the gateway\'s API proxy connects to members (static)', () => {
  const files = sources(SRC).filter((f) => !f.startsWith(`${PROXY}/`));
  const proxyFiles = sources(PROXY);

  it('finds the gateway sources', () => {
    expect(files.map((f) => relative(SRC, f))).toEqual(expect.arrayContaining(['imports/kubeconfig-guard.ts', 'imports/imports-api.service.ts']));
  });

  it('takes from @flotilla/kube only the offline kubeconfig rules (no MemberClient, runImportChecks, ClusterProber, parseForImport, ...)', () => {
    const used = files.flatMap((f) => imports(f).filter((i) => i.from === '@flotilla/kube' || i.from.startsWith('@flotilla/kube/')).flatMap((i) => i.names.map((n) => `${relative(SRC, f)}: ${n}`)));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !ALLOWED_FROM_KUBE.has(u.split(': ')[1]!))).toEqual([]);
  });

  it('the proxy takes from @flotilla/kube only the transport, the stored-connection rules and the address policy', () => {
    const used = proxyFiles.flatMap((f) => imports(f).filter((i) => i.from === '@flotilla/kube').flatMap((i) => i.names.map((n) => `${relative(SRC, f)}: ${n}`)));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !PROXY_FROM_KUBE.has(u.split(': ')[1]!))).toEqual([]);
  });

  it('outside the proxy, imports no network client module (node:http types for servers aside)', () => {
    const network = files.flatMap((f) => imports(f).filter((i) => NETWORK_MODULES.test(i.from) && !i.typeOnly).map((i) => `${relative(SRC, f)}: ${i.from}`));
    expect(network).toEqual([]);
  });

  it('reads no import policy beyond the member address policy the proxy connects under', async () => {
    const { gatewayConfigShape } = await import('../config');
    const { importPolicyConfigShape, memberAddressConfigShape } = await import('@flotilla/config');
    expect(Object.keys(importPolicyConfigShape).filter((k) => k in gatewayConfigShape && !(k in memberAddressConfigShape))).toEqual([]);
  });
});
