import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError, configParts } from '@flotilla/config';

/**
 * HTTPS on the gateway's public port. Files are read once at start; a renewed certificate takes a
 * restart (rolling, with several replicas). Merged into the gateway's config shape.
 */
export const gatewayTlsConfigShape = {
  /** PEM certificate chain the gateway serves (with FLOTILLA_GATEWAY_TLS_KEY: HTTPS on PORT). */
  FLOTILLA_GATEWAY_TLS_CERT: configParts.file.optional(),
  /** PEM private key of that certificate. */
  FLOTILLA_GATEWAY_TLS_KEY: configParts.file.optional(),
  /**
   * PEM bundle of the CA that signed the gateway's certificate (or the certificate itself when
   * self-signed). Written into the kubeconfigs Flotilla hands out, so kubectl trusts the gateway
   * without --insecure-skip-tls-verify. Leave it unset for a publicly trusted certificate.
   */
  FLOTILLA_GATEWAY_TLS_CA: configParts.file.optional(),
};

export interface GatewayTlsConfig {
  FLOTILLA_GATEWAY_TLS_CERT?: string;
  FLOTILLA_GATEWAY_TLS_KEY?: string;
  FLOTILLA_GATEWAY_TLS_CA?: string;
}

/** A PEM file is small: anything larger is not what the operator meant to point at. */
const MAX_PEM_BYTES = 1024 * 1024;

function readPem(variable: keyof GatewayTlsConfig, path: string, label: RegExp, what: string): string {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size > MAX_PEM_BYTES) throw new ConfigError('gateway', [{ variable, problem: `${path} is larger than 1 MiB: expected a PEM ${what}` }]);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    text = buffer.subarray(0, read).toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('gateway', [{ variable, problem: `cannot read ${path} (${code}): expected a PEM ${what}` }]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // Only the label is checked here; Node's TLS layer parses the rest at start and fails loudly.
  if (!label.test(text)) throw new ConfigError('gateway', [{ variable, problem: `${path} holds no PEM ${what}` }]);
  return text;
}

const CERT = /-----BEGIN CERTIFICATE-----/;
const KEY = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** The certificate and key to serve (both or neither), read once at start. */
export function loadGatewayHttps(config: GatewayTlsConfig): { cert: string; key: string } | undefined {
  const { FLOTILLA_GATEWAY_TLS_CERT: certPath, FLOTILLA_GATEWAY_TLS_KEY: keyPath } = config;
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) {
    const missing = certPath ? 'FLOTILLA_GATEWAY_TLS_KEY' : 'FLOTILLA_GATEWAY_TLS_CERT';
    throw new ConfigError('gateway', [{ variable: missing, problem: 'is required with the other: set both FLOTILLA_GATEWAY_TLS_CERT and FLOTILLA_GATEWAY_TLS_KEY (PEM file paths) to serve HTTPS' }]);
  }
  const key = readPem('FLOTILLA_GATEWAY_TLS_KEY', keyPath, KEY, 'private key');
  if (/ENCRYPTED PRIVATE KEY/.test(key)) {
    throw new ConfigError('gateway', [{ variable: 'FLOTILLA_GATEWAY_TLS_KEY', problem: `${keyPath} is an encrypted key: give an unencrypted PEM key (openssl pkey -in key.pem -out plain.pem)` }]);
  }
  return { cert: readPem('FLOTILLA_GATEWAY_TLS_CERT', certPath, CERT, 'certificate'), key };
}

/** The CA written into handed-out kubeconfigs (PEM), or undefined. */
export function loadGatewayCa(config: GatewayTlsConfig): string | undefined {
  const path = config.FLOTILLA_GATEWAY_TLS_CA;
  return path ? readPem('FLOTILLA_GATEWAY_TLS_CA', path, CERT, 'CA certificate') : undefined;
}
