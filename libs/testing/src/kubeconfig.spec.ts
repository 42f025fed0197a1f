import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { writeTokenKubeconfig } from './kubeconfig';
import { makeDevPki } from './platform';

describe('writeTokenKubeconfig', () => {
  let dir: string;
  let caFile: string;
  let caPem: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-kubeconfig-spec-'));
    makeDevPki(dir, ['gateway']);
    caFile = join(dir, 'ca.crt');
    caPem = readFileSync(caFile, 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one cluster, one token user and the current `flotilla` context, mode 0600, to a new temporary file', () => {
    const path = writeTokenKubeconfig({ server: 'https://127.0.0.1:8443', caFile, token: 'flt_secret' });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(parse(readFileSync(path, 'utf8'))).toEqual({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'flotilla', cluster: { server: 'https://127.0.0.1:8443', 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
        users: [{ name: 'admin', user: { token: 'flt_secret' } }],
        contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'admin' } }],
        'current-context': 'flotilla',
      });
    } finally {
      rmSync(dirname(path), { recursive: true, force: true });
    }
  });

  it('takes the CA as PEM text, other names, and a path of the caller', () => {
    const path = writeTokenKubeconfig({ server: 'https://localhost:1', caPem, token: 't', context: 'home', user: 'alice', path: join(dir, 'kc') });
    expect(path).toBe(join(dir, 'kc'));
    const doc = parse(readFileSync(path, 'utf8'));
    expect(doc).toMatchObject({
      clusters: [{ name: 'home', cluster: { 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: 'alice', user: { token: 't' } }],
      contexts: [{ name: 'home', context: { cluster: 'home', user: 'alice' } }],
      'current-context': 'home',
    });
  });

  it('refuses bad input naming the field and the fix, never echoing the token', () => {
    const at = join(dir, 'never');
    const base = { server: 'https://127.0.0.1:1', token: 'flt_secret', path: at };
    const message = (options: unknown) => {
      try {
        writeTokenKubeconfig(options as Parameters<typeof writeTokenKubeconfig>[0]);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    const refusals: Array<[unknown, RegExp]> = [
      [{ ...base, caFile, server: '127.0.0.1:8443' }, /server must be an http\(s\) URL such as https:/],
      [{ ...base, caFile, token: '' }, /token is empty; pass the bearer token/],
      [base, /give exactly one of caPem .* or caFile/],
      [{ ...base, caFile, caPem }, /give exactly one of caPem .* or caFile/],
      [{ ...base, caFile: join(dir, 'nope.crt') }, /caFile .*nope\.crt cannot be read \(ENOENT\); pass an existing PEM file/],
      [{ ...base, caPem: join(dir, 'gateway.key') }, /not a PEM certificate/],
    ];
    for (const [options, expected] of refusals) {
      const m = message(options);
      expect(m).toMatch(expected);
      expect(m).not.toContain('flt_secret');
    }
    expect(() => statSync(at)).toThrow();
  });
});
