import { get as httpGet } from 'node:http';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformEnv, ServiceProcess, makeDevPki, preparePlatformEnv, readyz, startPlatformProcesses } from './platform';

/** GET over HTTPS trusting `caFile`, with the admin token: status and body. */
function httpsGet(url: string, caFile: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(caFile), headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** What a plain-HTTP request to the port gets: a status, or the error code. */
function plainHttp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000 }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('startPlatformProcesses with gatewayTls', () => {
  let platform: PlatformEnv;
  let procs: Record<string, ServiceProcess> | undefined;

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    procs = await startPlatformProcesses(platform);
  }, 180_000);

  afterAll(async () => {
    for (const p of Object.values(procs ?? {}).reverse()) await p.stop();
    await platform?.cleanup();
  });

  it('starts the gateway on HTTPS from its development CA and waits for it over HTTPS', async () => {
    const tls = platform.gatewayTls!;
    expect(platform.gatewayUrl).toBe(`https://127.0.0.1:${platform.ports.gatewayHttp}`);
    expect(platform.env('gateway')).toMatchObject({ FLOTILLA_GATEWAY_TLS_CERT: tls.cert, FLOTILLA_GATEWAY_TLS_KEY: tls.key, FLOTILLA_GATEWAY_TLS_CA: tls.ca });
    expect(await readyz(platform.ports.gatewayHttp, { https: { ca: tls.ca } })).toMatchObject({ status: 200 });
    const clusters = await httpsGet(`${platform.gatewayUrl}/apis/cluster.kubesphere.io/v1alpha1/clusters`, tls.ca, platform.adminToken);
    expect(clusters.status).toBe(200);
    expect(JSON.parse(clusters.body)).toMatchObject({ kind: 'ClusterList', items: [] });
    // Plain HTTP on the same port gets no answer a client could take for the API.
    expect(await plainHttp(platform.ports.gatewayHttp)).not.toMatch(/^status 200/);
    // The other services stay on plain HTTP.
    expect(await readyz(platform.ports.registryHttp)).toMatchObject({ status: 200 });
  });

  it('refuses a gateway whose certificate does not chain to the CA it is given', async () => {
    const other = mkdtempSync(join(tmpdir(), 'flotilla-other-ca-'));
    try {
      makeDevPki(other, ['gateway']);
      await expect(readyz(platform.ports.gatewayHttp, { https: { ca: join(other, 'ca.crt') } })).rejects.toThrow(/certificate|verify/i);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
