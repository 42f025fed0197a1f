import { ErrorReason, FlotillaError } from '@flotilla/domain';

/** Socket errors of a database connection that is gone or never came. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLSTATEs that say "the server is not serving now" (class 08: connection exception; 57P0x: shutting down, starting up; 53300: too many connections). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|the database system is (starting up|shutting down)/i;
const TIMEOUT_MESSAGES = /Query read timeout|canceling statement due to statement timeout/i;

const codeOf = (e: unknown): string | undefined => {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * A Postgres outage seen from a handler (pg's socket errors, SQLSTATE 08xxx/57P0x, TypeORM's
 * QueryFailedError wrapping either) as the error the caller should get: ServiceUnavailable (retry
 * shortly) or Timeout, never "internal error". A caller can then tell "the registry could not
 * answer" from "the registry answered no" (issue 13's fault suite: health-probe took an
 * unavailable registry for unusable credentials). Anything else: undefined.
 */
export function databaseOutage(error: unknown): FlotillaError | undefined {
  if (error instanceof FlotillaError || typeof error !== 'object' || error === null) return undefined;
  const driver = (error as { driverError?: unknown }).driverError;
  const codes = [codeOf(error), codeOf(driver)].filter((c): c is string => !!c);
  const message = [error instanceof Error ? error.message : '', driver instanceof Error ? driver.message : ''].join(' ');
  if (codes.includes('57014') || TIMEOUT_MESSAGES.test(message)) {
    return new FlotillaError(ErrorReason.Timeout, 'the database did not answer in time; retry shortly', { retryAfterSeconds: 1 });
  }
  if (codes.some((c) => SOCKET_CODES.has(c) || UNAVAILABLE_STATES.has(c) || /^08[0-9A-Z]{3}$/.test(c)) || UNAVAILABLE_MESSAGES.test(message)) {
    return new FlotillaError(ErrorReason.ServiceUnavailable, 'the database is unavailable; retry shortly', { retryAfterSeconds: 1 });
  }
  return undefined;
}
