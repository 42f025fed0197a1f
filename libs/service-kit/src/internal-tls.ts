import { ChannelCredentials, ServerCredentials, experimental } from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import type { ServiceRuntime } from './runtime';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** Where a service's internal TLS material lives (PEM files, renewed in place). */
export interface InternalTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

interface Material {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  leaf: X509Certificate;
  caNotAfter: Date;
}

/** Reads and checks the three files: each parses, and the key belongs to the certificate. */
function readMaterial(files: InternalTlsFiles): Material {
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const ca = read('FLOTILLA_INTERNAL_TLS_CA', files.ca);
  const cert = read('FLOTILLA_INTERNAL_TLS_CERT', files.cert);
  const key = read('FLOTILLA_INTERNAL_TLS_KEY', files.key);
  let leaf: X509Certificate;
  let caCert: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new Error(`FLOTILLA_INTERNAL_TLS_CERT: ${files.cert} is not a PEM certificate`);
  }
  try {
    caCert = new X509Certificate(ca);
  } catch {
    throw new Error(`FLOTILLA_INTERNAL_TLS_CA: ${files.ca} is not a PEM certificate`);
  }
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`FLOTILLA_INTERNAL_TLS_KEY: ${files.key} is not a PEM private key`);
  }
  if (!matches) throw new Error(`FLOTILLA_INTERNAL_TLS_KEY: ${files.key} is not the key of ${files.cert}`);
  return { ca, cert, key, leaf, caNotAfter: new Date(caCert.validTo) };
}

/**
 * The internal CA, certificate and key, re-read every `reloadMs`: a renewed set is handed to
 * grpc-js (servers take it for new handshakes, clients for new connections) without a restart.
 * A half-written or mismatched set is ignored until it is whole; the last good one stays in use.
 */
export class ReloadingCertificateProvider implements experimental.CertificateProvider {
  private material: Material;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly files: InternalTlsFiles,
    reloadMs: number,
    private readonly onReload: (subject: string, notAfter: string) => void = () => undefined,
    private readonly onError: (message: string) => void = () => undefined,
  ) {
    this.material = readMaterial(files);
    this.timer = setInterval(() => this.reload(), reloadMs);
    this.timer.unref();
  }

  /** Subject CN of the current certificate: the identity this service presents. */
  get identity(): string {
    return /(?:^|\n)CN=([^\n]+)/.exec(this.material.leaf.subject)?.[1] ?? '';
  }

  /** Seconds until the current certificate (and the CA) expire. */
  secondsLeft(now = Date.now()): { certificate: number; ca: number } {
    return {
      certificate: (new Date(this.material.leaf.validTo).getTime() - now) / 1000,
      ca: (this.material.caNotAfter.getTime() - now) / 1000,
    };
  }

  reload(): void {
    let next: Material;
    try {
      next = readMaterial(this.files);
    } catch (error) {
      this.onError((error as Error).message);
      return;
    }
    if (next.cert.equals(this.material.cert) && next.key.equals(this.material.key) && next.ca.equals(this.material.ca)) return;
    this.material = next;
    this.onReload(next.leaf.subject.replace(/\n/g, ', '), next.leaf.validTo);
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
  }

  close(): void {
    clearInterval(this.timer);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // grpc-js registers its watcher right after this call: hand the material over on the next tick.
    process.nextTick(() => listener({ caCertificate: this.material.ca }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => listener({ certificate: this.material.cert, privateKey: this.material.key }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Server credentials: this service's certificate, and a client certificate from the internal CA required. */
export function internalServerCredentials(provider: ReloadingCertificateProvider): ServerCredentials {
  // The same provider serves both roles (grpc-js 1.14 names the two parameters in different orders).
  return experimental.createCertificateProviderServerCredentials(provider, provider, true);
}

/** Channel credentials: verify the server against the internal CA, present this service's certificate. */
export function internalChannelCredentials(provider: ReloadingCertificateProvider): ChannelCredentials {
  return experimental.createCertificateProviderChannelCredentials(provider, provider);
}

/** flotilla_internal_tls_expiry_seconds{certificate="service"|"ca"}: seconds until notAfter, read at each scrape. */
export function registerCertificateExpiry(provider: ReloadingCertificateProvider, runtime: ServiceRuntime): void {
  new Gauge({
    name: 'flotilla_internal_tls_expiry_seconds',
    help: 'Seconds until the internal TLS certificate (certificate="service") and its CA (certificate="ca") expire',
    labelNames: ['certificate'],
    registers: [runtime.metrics.registry],
    collect() {
      const left = provider.secondsLeft();
      this.set({ certificate: 'service' }, Math.round(left.certificate));
      this.set({ certificate: 'ca' }, Math.round(left.ca));
    },
  });
}
