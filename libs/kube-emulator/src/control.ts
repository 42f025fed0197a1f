/**
 * A tiny HTTP control endpoint on 127.0.0.1 so another process (a sandbox user, a test in
 * another process) can drive faults:
 *   GET  /clusters
 *   POST /clusters/{name}/{latency|down|up|hang|errors|clear-errors|revoke|expire|restore|version|nodes|remove-node|health|compact|log|port-target|workloads}
 * with a JSON body where the action needs one (see docs/kube-emulator.md).
 */
import { createServer, type Server } from 'node:http';
import type { CredentialUser, KubeEmulator } from './emulator';
import type { HealthEndpoint } from './cluster/cluster';
import type { NodeSpec } from './cluster/flavours';
import type { WorkloadOptions } from './cluster/workloads';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/** Control bodies are small JSON objects; more than this is refused. */
const MAX_CONTROL_BODY = 64 * 1024;

function readJson(req: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.on('data', (c: Buffer) => {
      s += c.toString();
      if (s.length > MAX_CONTROL_BODY) reject(new Error(`control body over ${MAX_CONTROL_BODY} bytes`));
    });
    req.on('end', () => {
      try {
        resolve(s.trim() ? (JSON.parse(s) as Record<string, unknown>) : {});
      } catch (e) {
        reject(e);
      }
    });
  });
}

export async function startControlServer(emu: KubeEmulator, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const parts = (req.url ?? '/').split('?')[0].split('/').filter(Boolean);
      if (req.method === 'GET' && parts.length === 1 && parts[0] === 'clusters') {
        return reply(200, emu.clusters().map((c) => ({ name: c.name, flavour: c.flavour, server: c.server, version: c.version, kubeSystemUid: c.kubeSystemUid })));
      }
      if (req.method !== 'POST' || parts[0] !== 'clusters' || parts.length !== 3) return reply(404, { error: 'not found' });
      const c = emu.cluster(parts[1]);
      const body = await readJson(req);
      switch (parts[2]) {
        case 'latency':
          c.setLatency(Number(body.ms ?? 0));
          break;
        case 'down':
          await c.down();
          break;
        case 'up':
          await c.up();
          break;
        case 'hang':
          c.hang();
          break;
        case 'errors':
          c.setErrorRate({ pathPrefix: body.pathPrefix as string | undefined, regex: body.regex as string | undefined, rate: Number(body.rate ?? 1), code: Number(body.code ?? 500) });
          break;
        case 'clear-errors':
          c.clearErrors();
          break;
        case 'revoke':
          c.revokeCredential(body.user as CredentialUser);
          break;
        case 'expire':
          c.expireCredential(body.user as CredentialUser);
          break;
        case 'restore':
          c.restoreCredential(body.user as CredentialUser);
          break;
        case 'version':
          c.setVersion(String(body.version));
          break;
        case 'nodes':
          c.addNode(body as unknown as NodeSpec);
          break;
        case 'remove-node':
          c.removeNode(String(body.name));
          break;
        case 'health':
          c.setHealth(body.endpoint as HealthEndpoint, Boolean(body.ok), { notFound: Boolean(body.notFound) });
          break;
        case 'compact':
          c.compact();
          break;
        case 'log':
          c.appendLog(String(body.namespace ?? 'default'), String(body.pod), String(body.line ?? ''), { container: body.container as string | undefined });
          break;
        case 'port-target':
          c.setPortTarget(
            String(body.namespace ?? 'default'),
            String(body.pod),
            Number(body.port),
            body.targetPort === undefined || body.targetPort === null ? undefined : { port: Number(body.targetPort), host: body.host as string | undefined },
          );
          break;
        case 'workloads':
          c.setWorkloads(body as WorkloadOptions);
          break;
        default:
          return reply(404, { error: `unknown action ${parts[2]}` });
      }
      return reply(200, { ok: true });
    })().catch((e: Error) => reply(400, { error: e.message }));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const addr = server.address();
  const url = `http://127.0.0.1:${addr && typeof addr === 'object' ? addr.port : port}`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}
