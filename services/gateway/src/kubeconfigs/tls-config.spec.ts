import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@flotilla/config';
import { thrownBy } from '@flotilla/testing';
import { loadGatewayCa, loadGatewayHttps } from './tls-config';

describe('gateway TLS files', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const problem = (fn: () => unknown) => thrownBy(fn, ConfigError).problems[0]!;

  it('serves plain HTTP when neither file is set, and reads both when both are', () => {
    expect(loadGatewayHttps({})).toBeUndefined();
    expect(loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_CERT: file('c.pem', CERT), FLOTILLA_GATEWAY_TLS_KEY: file('k.pem', KEY) })).toEqual({ cert: CERT, key: KEY });
    expect(loadGatewayCa({})).toBeUndefined();
    expect(loadGatewayCa({ FLOTILLA_GATEWAY_TLS_CA: file('ca.pem', CERT) })).toBe(CERT);
  });

  it('names the variable and the fix for every mistake', () => {
    expect(problem(() => loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_CERT: file('c.pem', CERT) })).variable).toBe('FLOTILLA_GATEWAY_TLS_KEY');
    expect(problem(() => loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_KEY: file('k.pem', KEY) })).variable).toBe('FLOTILLA_GATEWAY_TLS_CERT');
    const missing = problem(() => loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_CERT: join(dir, 'none.pem'), FLOTILLA_GATEWAY_TLS_KEY: file('k.pem', KEY) }));
    expect(missing).toEqual({ variable: 'FLOTILLA_GATEWAY_TLS_CERT', problem: expect.stringContaining('ENOENT') });
    expect(problem(() => loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_CERT: file('c.pem', KEY), FLOTILLA_GATEWAY_TLS_KEY: file('k.pem', KEY) })).problem).toContain('holds no PEM certificate');
    const encrypted = file('e.pem', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE\n-----END ENCRYPTED PRIVATE KEY-----\n');
    expect(problem(() => loadGatewayHttps({ FLOTILLA_GATEWAY_TLS_CERT: file('c.pem', CERT), FLOTILLA_GATEWAY_TLS_KEY: encrypted })).problem).toContain('encrypted key');
    expect(problem(() => loadGatewayCa({ FLOTILLA_GATEWAY_TLS_CA: file('big.pem', 'x'.repeat(2 * 1024 * 1024)) })).problem).toContain('larger than 1 MiB');
  });
});
