#!/usr/bin/env node
// A development CA and one certificate per internal identity, for internal mTLS (docs/security.md),
// and for the gateway's HTTPS under `npm start` (ensureGatewayPki: its own CA, under .flotilla/gateway-pki).
//   node tools/dev-pki.mjs <dir> <identity>... [--days N] [--renew]
// Keeps an existing CA and any certificate with more than 30 days left, unless --renew (reissues the
// named identities' certificates under the same CA: what a renewal looks like to the services).
// Each certificate's subject CN is the identity; it serves as server and client certificate, for
// the identity's DNS name (compose service name), localhost, 127.0.0.1 and ::1. Needs the openssl CLI.
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DAY_MS = 24 * 3600 * 1000;

function openssl(args) {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('FLOTILLA_INTERNAL_TLS=true needs the openssl command to make development certificates: install openssl, or set FLOTILLA_INTERNAL_TLS_CA/CERT/KEY to your own files');
    throw new Error(`openssl ${args[0]} failed: ${String(error.stderr ?? error.message).trim()}`);
  }
}

const daysLeft = (file) => (new Date(new X509Certificate(readFileSync(file)).validTo).getTime() - Date.now()) / DAY_MS;

/** Makes (or keeps) the CA and the identities' certificates under `dir`; returns the file paths. */
export function ensureDevPki(dir, identities, { days = 90, renew = false, caName = 'Flotilla internal development CA' } = {}) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  if (!existsSync(ca.cert) || !existsSync(ca.key) || daysLeft(ca.cert) < 30) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '3650',
      '-subj', `/O=Flotilla/CN=${caName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    chmodSync(ca.key, 0o600);
    renew = true;
  }
  const out = { ca: ca.cert, identities: {} };
  for (const identity of identities) {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(identity)) throw new Error(`not an identity name: ${identity}`);
    const cert = join(dir, `${identity}.crt`);
    const key = join(dir, `${identity}.key`);
    out.identities[identity] = { cert, key };
    if (!renew && existsSync(cert) && existsSync(key) && daysLeft(cert) > 30) continue;
    const csr = join(dir, `${identity}.csr`);
    const ext = join(dir, `${identity}.ext`);
    // Written beside, then renamed over: a service re-reading the files never sees half of a pair for long.
    const nextKey = `${key}.next`;
    const nextCert = `${cert}.next`;
    writeFileSync(ext, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=DNS:${identity},DNS:localhost,IP:127.0.0.1,IP:::1`,
    ].join('\n'));
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', nextKey, '-out', csr, '-subj', `/O=Flotilla/CN=${identity}`]);
    chmodSync(nextKey, 0o600);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days), '-extfile', ext, '-out', nextCert]);
    execFileSync('mv', ['-f', nextKey, key]);
    execFileSync('mv', ['-f', nextCert, cert]);
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return out;
}

/**
 * The gateway's development HTTPS material for `npm start`: a CA (ca.crt, kept 10 years) and a
 * serving certificate for localhost, 127.0.0.1 and ::1 (gateway.crt, renewed when 30 days are left),
 * keys mode 0600. A CA of its own, apart from the internal one: kubeconfigs trust only this.
 */
export function ensureGatewayPki(dir) {
  const pki = ensureDevPki(dir, ['gateway'], { caName: 'Flotilla gateway development CA' });
  return { ca: pki.ca, cert: pki.identities.gateway.cert, key: pki.identities.gateway.key };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [, value] = args.splice(i, name === '--renew' ? 1 : 2);
    return value ?? true;
  };
  const renew = flag('--renew') === true;
  const days = Number(flag('--days') ?? 90);
  const [dir, ...identities] = args;
  if (!dir || identities.length === 0) {
    process.stderr.write('usage: node tools/dev-pki.mjs <dir> <identity>... [--days N] [--renew]\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${JSON.stringify(ensureDevPki(dir, identities, { days, renew }))}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
