import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The import boundaries are enforced by lint (eslint.config.mjs): this proves the real config fails
 * on each kind of forbidden import and accepts the allowed ones. Snippets are linted as if they sat at
 * realistic paths in the tree, through ESLint's Node API (in a child process: ESLint loads its config
 * with import(), which jest's module system does not support).
 */
const root = join(__dirname, '..');

interface Finding {
  ruleId: string | null;
  severity: number;
  message: string;
}

const snippets: Record<string, { filePath: string; code: string }> = {
  serviceImportsService: { filePath: 'services/registry/src/lint-probe.ts', code: "import { loadGatewayConfig } from '../../gateway/src/config';\nexport const used = [loadGatewayConfig];\n" },
  libImportsService: { filePath: 'libs/kube/src/lint-probe.ts', code: "import { main } from '../../../services/registry/src/main';\nexport const used = [main];\n" },
  libImportsEmulator: { filePath: 'libs/kube/src/lint-probe.ts', code: "import { KubeEmulator } from '@flotilla/kube-emulator';\nexport const used = [KubeEmulator];\n" },
  serviceImportsTestKit: { filePath: 'services/gateway/src/lint-probe.ts', code: "import { eventually } from '@flotilla/testing';\nexport const used = [eventually];\n" },
  libDeepImport: { filePath: 'libs/kube/src/lint-probe.ts', code: "import { applyJsonPatch } from '../../domain/src/patch/patch';\nexport const used = [applyJsonPatch];\n" },
  testDeepImport: { filePath: 'test/lint-probe.spec.ts', code: "import { issueCertificate } from '../libs/kube-emulator/src/server/certs';\nexport const used = [issueCertificate];\n" },
  aliasDeepImport: { filePath: 'services/gateway/src/lint-probe.ts', code: "import { thing } from '@flotilla/domain/src/patch/patch';\nexport const used = [thing];\n" },
  allowedServiceUsesLib: { filePath: 'services/gateway/src/lint-probe.ts', code: "import { CLUSTER_API_VERSION } from '@flotilla/domain';\nexport const used = [CLUSTER_API_VERSION];\n" },
  allowedLibUsesLib: { filePath: 'libs/kube/src/lint-probe.ts', code: "import { CLUSTER_API_VERSION } from '@flotilla/domain';\nexport const used = [CLUSTER_API_VERSION];\n" },
  allowedSpecUsesTestKit: { filePath: 'services/gateway/src/lint-probe.int-spec.ts', code: "import { eventually } from '@flotilla/testing';\nimport { KubeEmulator } from '@flotilla/kube-emulator';\nexport const used = [eventually, KubeEmulator];\n" },
  allowedLibSpecUsesEmulator: { filePath: 'libs/kube/src/lint-probe.spec.ts', code: "import { KubeEmulator } from '@flotilla/kube-emulator';\nexport const used = [KubeEmulator];\n" },
  allowedBenchUsesEmulator: { filePath: 'bench/lint-probe.ts', code: "import { KubeEmulator } from '@flotilla/kube-emulator';\nimport { main } from '../services/registry/src/main';\nexport const used = [KubeEmulator, main];\n" },
};

let results: Record<string, Finding[]>;

beforeAll(() => {
  const script = `
    const { ESLint } = await import('eslint');
    const snippets = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = {};
    for (const [name, { filePath, code }] of Object.entries(snippets)) {
      const [result] = await eslint.lintText(code, { filePath });
      out[name] = result.messages.map(({ ruleId, severity, message }) => ({ ruleId, severity, message }));
    }
    process.stdout.write(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(snippets)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    timeout: 120_000,
  });
  results = JSON.parse(stdout.slice(stdout.indexOf('{')));
}, 150_000);

const errors = (name: string) => results[name]!.filter((f) => f.severity === 2);
const boundaryRules = ['@nx/enforce-module-boundaries', 'no-restricted-imports'];

describe('lint enforces the import boundaries', () => {
  it('refuses a service importing another service', () => {
    expect(errors('serviceImportsService').map((f) => f.ruleId)).toContain('@nx/enforce-module-boundaries');
  });

  it('refuses a lib importing a service', () => {
    expect(errors('libImportsService').map((f) => f.ruleId)).toContain('@nx/enforce-module-boundaries');
  });

  it('refuses the test-only libs outside tests, bench/ and tools/, naming where they may be used', () => {
    for (const name of ['libImportsEmulator', 'serviceImportsTestKit']) {
      const found = errors(name);
      expect(found.map((f) => f.ruleId)).toEqual(expect.arrayContaining(boundaryRules));
      expect(found.find((f) => f.ruleId === 'no-restricted-imports')!.message).toMatch(/test-only library.*tests.*bench\/.*tools\//);
    }
  });

  it("refuses deep imports into a lib's src/, by relative path or by alias, wherever the importer sits", () => {
    for (const name of ['libDeepImport', 'testDeepImport', 'aliasDeepImport']) {
      expect(errors(name).length).toBeGreaterThan(0);
      expect(errors(name).every((f) => boundaryRules.includes(f.ruleId!))).toBe(true);
    }
    expect(errors('testDeepImport').map((f) => f.message).join('\n')).toMatch(/by its name/);
  });

  it('accepts libs from services and libs, and the test-only libs from specs and bench/', () => {
    for (const name of ['allowedServiceUsesLib', 'allowedLibUsesLib', 'allowedSpecUsesTestKit', 'allowedLibSpecUsesEmulator', 'allowedBenchUsesEmulator']) {
      expect({ name, errors: errors(name) }).toEqual({ name, errors: [] });
    }
  });
});
