import pino, { Logger } from 'pino';
import { currentRequestId } from './request-context';

export type { Logger } from 'pino';

/** Paths that must never reach a log line, whatever object is logged. */
export const REDACTED_PATHS = [
  'kubeconfig',
  'token',
  'password',
  'authorization',
  '*.kubeconfig',
  '*.token',
  '*.password',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'spec.connection.kubeconfig',
  'spec.connection.token',
  '*.spec.connection.kubeconfig',
  '*.spec.connection.token',
];

/** Structured JSON logs; every line carries the service name and, inside a request, its id. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin() {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}
