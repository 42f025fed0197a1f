import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError, ExitCode, isStatus, statusError } from './errors';
import type { Login } from './config';

/** Largest answer read from the server (a page of 500 clusters, a kubeconfig of 500 contexts). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Largest server-sent event (one import job). */
const MAX_EVENT_BYTES = 1024 * 1024;

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Answers with these codes are returned, not thrown. */
  allow?: number[];
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** A connection error as a CliError (exit 4) naming the server and the likely fix. */
export function networkError(server: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (TLS_CODES.has(code)) {
    return new CliError(ExitCode.Unreachable, `cannot trust ${server}: its certificate does not verify (${code})`, [
      'log in again with --certificate-authority FILE naming the CA that signed the gateway\'s certificate',
    ]);
  }
  const what = code || (error as Error).message || 'error';
  return new CliError(ExitCode.Unreachable, `cannot reach ${server} (${what})`, ['check that Flotilla runs there, or log in again with the right --server']);
}

/** Flotilla's REST API with the stored login: bounded in size and time, errors as CliErrors. */
export class Api {
  constructor(
    public login: Login,
    private readonly timeoutMs = 30_000,
    /** Called once, before the first request: refreshes an OIDC login that is about to expire. */
    private freshen?: () => Promise<Login>,
  ) {}

  private async ready(): Promise<void> {
    const freshen = this.freshen;
    this.freshen = undefined;
    if (freshen) this.login = await freshen();
  }

  /** One request; the answer is read whole (at most 16 MiB) within the timeout. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    await this.ready();
    const res = await this.open(method, path, options, this.timeoutMs);
    const text = await readBounded(res, this.login.server, this.timeoutMs);
    const answer = { status: res.statusCode ?? 0, headers: res.headers, text };
    if (answer.status >= 400 && !(options.allow ?? []).includes(answer.status)) throw errorOf(answer);
    return answer;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.request(method, path, options);
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw new CliError(ExitCode.Internal, `the server's answer to ${method} ${path} is not JSON`);
    }
  }

  /**
   * Follows a server-sent event stream, calling onEvent for each event until it returns true
   * (done), the server ends the stream (returns false), or no byte arrives for idleMs.
   */
  async events(path: string, onEvent: (type: string, data: unknown) => boolean, idleMs: number): Promise<boolean> {
    await this.ready();
    const res = await this.open('GET', path, { accept: 'text/event-stream' }, this.timeoutMs);
    if ((res.statusCode ?? 0) >= 400) throw errorOf({ status: res.statusCode ?? 0, headers: res.headers, text: await readBounded(res, this.login.server, this.timeoutMs) });
    return new Promise<boolean>((resolve, reject) => {
      let buffer = '';
      let settled = false;
      const finish = (error: unknown, done = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        res.destroy();
        if (error) reject(error);
        else resolve(done);
      };
      let idle = setTimeout(() => finish(new CliError(ExitCode.Unreachable, `no event from ${this.login.server} for ${Math.round(idleMs / 1000)} s`)), idleMs);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new CliError(ExitCode.Unreachable, `no event from ${this.login.server} for ${Math.round(idleMs / 1000)} s`)), idleMs);
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const parsed = parseEvent(block);
          if (!parsed) continue;
          try {
            if (parsed.type === 'ERROR' && isStatus(parsed.data)) return finish(statusError(parsed.data, parsed.data.code ?? 500));
            if (onEvent(parsed.type, parsed.data)) return finish(undefined, true);
          } catch (error) {
            return finish(error);
          }
        }
        if (buffer.length > MAX_EVENT_BYTES) finish(new CliError(ExitCode.Internal, `an event from ${this.login.server} is larger than 1 MiB`));
      });
      res.on('end', () => finish(undefined, false));
      res.on('error', (error) => finish(networkError(this.login.server, error)));
    });
  }

  private open(method: string, path: string, options: RequestOptions, timeoutMs: number): Promise<IncomingMessage> {
    const url = new URL(path, this.login.server.replace(/\/+$/, '') + '/');
    const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.login.token}`,
      accept: options.accept ?? 'application/json',
      'user-agent': 'flotilla-cli',
    };
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method, headers, ...(this.login.certificateAuthority && url.protocol === 'https:' ? { ca: this.login.certificateAuthority } : {}) }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new CliError(ExitCode.Unreachable, `${this.login.server} did not answer within ${Math.round(timeoutMs / 1000)} s`, ['check that Flotilla runs there']));
      }, timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(networkError(this.login.server, error));
      });
      req.end(body);
    });
  }
}

function readBounded(res: IncomingMessage, server: string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      res.destroy();
      reject(new CliError(ExitCode.Unreachable, `${server} did not finish its answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        clearTimeout(timer);
        res.destroy();
        reject(new CliError(ExitCode.Internal, `the answer of ${server} is larger than 16 MiB`, ['narrow the request, e.g. with -l SELECTOR']));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (error) => {
      clearTimeout(timer);
      reject(networkError(server, error));
    });
  });
}

function errorOf(answer: Answer): CliError {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  if (isStatus(body)) return statusError(body, answer.status);
  return statusError({ kind: 'Status', message: `the server answered HTTP ${answer.status}`, code: answer.status }, answer.status);
}

function parseEvent(block: string): { type: string; data: unknown } | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  try {
    return { type, data: JSON.parse(data.join('\n')) as unknown };
  } catch {
    throw new CliError(ExitCode.Internal, 'the server sent an event that is not JSON');
  }
}
