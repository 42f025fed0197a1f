// The gateway's HTTPS under `npm start` (tools/start.mjs): kubectl sends a bearer token only over
// HTTPS, so the development gateway serves it by default, with a development CA under
// .flotilla/gateway-pki, and a kubeconfig for it at .flotilla/kubeconfig. See docs/operations.md.
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureGatewayPki } from './dev-pki.mjs';

/**
 * How the gateway serves its port:
 * - FLOTILLA_GATEWAY_HTTP=true: plain HTTP (no kubeconfig: kubectl would not send the token);
 * - FLOTILLA_GATEWAY_TLS_CERT and _KEY set: the operator's files (CA: FLOTILLA_GATEWAY_TLS_CA, if any);
 * - otherwise the development CA and serving certificate under <stateDir>/gateway-pki (made once).
 * Returns the scheme, the variables for the gateway and the CA file (or undefined).
 */
export function gatewayHttps(stateDir, env) {
  const http = env.FLOTILLA_GATEWAY_HTTP;
  if (http !== undefined && http !== 'true' && http !== 'false') throw new Error('FLOTILLA_GATEWAY_HTTP must be true or false (true serves the gateway on plain HTTP), e.g. FLOTILLA_GATEWAY_HTTP=true');
  if (http === 'true') return { scheme: 'http', gatewayEnv: {}, ca: undefined, generated: false };
  if (env.FLOTILLA_GATEWAY_TLS_CERT || env.FLOTILLA_GATEWAY_TLS_KEY) {
    // The gateway checks the pair itself and names what is missing.
    return { scheme: 'https', gatewayEnv: {}, ca: env.FLOTILLA_GATEWAY_TLS_CA || undefined, generated: false };
  }
  const pki = ensureGatewayPki(join(stateDir, 'gateway-pki'));
  return {
    scheme: 'https',
    gatewayEnv: { FLOTILLA_GATEWAY_TLS_CERT: pki.cert, FLOTILLA_GATEWAY_TLS_KEY: pki.key, FLOTILLA_GATEWAY_TLS_CA: pki.ca },
    ca: pki.ca,
    generated: true,
  };
}

/**
 * Whether https://127.0.0.1:<port>/readyz answers 200, trusting `caFile`. Without a CA (an
 * operator's publicly trusted certificate, which does not name 127.0.0.1) the chain is not checked:
 * this only asks the local child process whether it is ready.
 */
export function httpsReady(port, caFile) {
  const ca = caFile ? readFileSync(caFile) : undefined;
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', method: 'GET', ca, rejectUnauthorized: Boolean(ca), timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Writes <stateDir>/kubeconfig (mode 0600, replaced whole): one `flotilla` context for the admin
 * token at `server`, trusting `caFile` when given. Returns its path.
 */
export function writeAdminKubeconfig(stateDir, server, caFile, token) {
  const file = join(stateDir, 'kubeconfig');
  const cluster = { server, ...(caFile ? { 'certificate-authority-data': readFileSync(caFile).toString('base64') } : {}) };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'flotilla', cluster }],
    users: [{ name: 'flotilla-admin', user: { token } }],
    contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'flotilla-admin' } }],
    'current-context': 'flotilla',
  };
  const next = `${file}.next`;
  writeFileSync(next, `# Written by npm start: the admin token, for development only.\n${stringify(doc)}`, { mode: 0o600 });
  chmodSync(next, 0o600);
  renameSync(next, file);
  return file;
}
