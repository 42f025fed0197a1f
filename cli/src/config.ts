import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './errors';
import { readUserFile, writePrivateFile } from './files';

/** How an OIDC login is refreshed: the issuer, the client, the scopes and the refresh token. */
export interface OidcLogin {
  issuer: string;
  clientId: string;
  scopes: string[];
  refreshToken?: string;
  /** 'browser' when the login was made with --browser (so that the hints to log in again say so). */
  flow?: 'browser';
}

/**
 * What `flotilla login` stores: the server, a token (a Flotilla token, or an OIDC ID token with
 * `oidc` saying how to refresh it), and the CA that signs the gateway's certificate.
 */
export interface Login {
  server: string;
  token: string;
  /** PEM, when the gateway's certificate is signed by a private CA. */
  certificateAuthority?: string;
  oidc?: OidcLogin;
}

const API_VERSION = 'cli.flotilla.io/v1alpha1';
const MAX_CONFIG_BYTES = 256 * 1024;

/** $XDG_CONFIG_HOME/flotilla, or ~/.config/flotilla. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config'), 'flotilla');
}

export const configPath = (env: NodeJS.ProcessEnv = process.env) => join(configDir(env), 'config.json');

const notLoggedIn = (path: string) =>
  new CliError(ExitCode.Refused, `not logged in: ${path} does not exist`, ['run `flotilla login --server https://flotilla.example.com --token TOKEN` (or, with OIDC, `--oidc-issuer URL --oidc-client-id ID`) first']);

/**
 * Reads the stored login. The file holds a token: it is refused when others may read or write it
 * (or its folder), or when another user owns it, naming the chmod that fixes it.
 */
export function readLogin(env: NodeJS.ProcessEnv = process.env): Login {
  const dir = configDir(env);
  const path = configPath(env);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw notLoggedIn(path);
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && stat.uid !== uid) {
    throw new CliError(ExitCode.Refused, `${path} belongs to another user (uid ${stat.uid}): it holds a token, so it is not read`, [`remove it and run flotilla login again`]);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new CliError(ExitCode.Refused, `${path} is readable or writable by others (mode ${(stat.mode & 0o777).toString(8)}): it holds a token, so it is not read`, [
      `fix: chmod 600 ${path}`,
    ]);
  }
  const dirMode = statSync(dir).mode & 0o777;
  if ((dirMode & 0o022) !== 0) {
    throw new CliError(ExitCode.Refused, `${dir} is writable by others (mode ${dirMode.toString(8)}): someone could replace your login`, [`fix: chmod 700 ${dir}`]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readUserFile(path, 'the login file', MAX_CONFIG_BYTES));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(ExitCode.Refused, `${path} is not valid JSON`, ['run flotilla login again to rewrite it']);
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (typeof d.server !== 'string' || typeof d.token !== 'string' || d.server === '' || d.token === '') {
    throw new CliError(ExitCode.Refused, `${path} has no server or token`, ['run flotilla login again to rewrite it']);
  }
  const ca = typeof d.certificateAuthorityData === 'string' && d.certificateAuthorityData !== '' ? Buffer.from(d.certificateAuthorityData, 'base64').toString('utf8') : undefined;
  const oidc = oidcOf(d.oidc, path);
  return { server: d.server, token: d.token, ...(ca ? { certificateAuthority: ca } : {}), ...(oidc ? { oidc } : {}) };
}

function oidcOf(value: unknown, path: string): OidcLogin | undefined {
  if (value === undefined) return undefined;
  const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const scopes = Array.isArray(o.scopes) ? o.scopes.filter((s): s is string => typeof s === 'string') : [];
  if (typeof o.issuer !== 'string' || typeof o.clientId !== 'string' || o.issuer === '' || o.clientId === '') {
    throw new CliError(ExitCode.Refused, `${path} has an OIDC login without its issuer or client id`, ['run flotilla login again to rewrite it']);
  }
  const refreshToken = typeof o.refreshToken === 'string' && o.refreshToken !== '' ? o.refreshToken : undefined;
  return { issuer: o.issuer, clientId: o.clientId, scopes, ...(refreshToken ? { refreshToken } : {}), ...(o.flow === 'browser' ? { flow: 'browser' as const } : {}) };
}

/** The lock `flotilla token` holds while it refreshes the login (next to the login file). */
export const loginLockPath = (env: NodeJS.ProcessEnv = process.env) => `${configPath(env)}.lock`;

/** Stores a login: the folder 0700, the file 0600 (written atomically). Returns the file's path. */
export function writeLogin(login: Login, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (error) {
    throw new CliError(ExitCode.Refused, `cannot create ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, ['set XDG_CONFIG_HOME to a folder you may write']);
  }
  const path = configPath(env);
  const doc = {
    apiVersion: API_VERSION,
    kind: 'Config',
    server: login.server,
    token: login.token,
    ...(login.certificateAuthority ? { certificateAuthorityData: Buffer.from(login.certificateAuthority, 'utf8').toString('base64') } : {}),
    ...(login.oidc ? { oidc: login.oidc } : {}),
  };
  writePrivateFile(path, `${JSON.stringify(doc, null, 2)}\n`);
  chmodSync(path, 0o600);
  return path;
}
