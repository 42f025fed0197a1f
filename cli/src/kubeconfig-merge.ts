import { FlotillaError, parseLabelSelector, type LabelSelector } from '@flotilla/domain';
import { ParseLimitError, parseYamlBounded } from '@flotilla/parsing';
import { CliError, ExitCode } from './errors';

type Named = { name: string; [k: string]: unknown };
export interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  preferences?: unknown;
  clusters?: Named[];
  users?: Named[];
  contexts?: (Named & { context?: { cluster?: string; user?: string; [k: string]: unknown } })[];
  'current-context'?: string;
  [k: string]: unknown;
}

/** A kubeconfig of many contexts, each with its CA, fits; more is not a kubeconfig. */
const LIMITS = { maxBytes: 16 * 1024 * 1024, maxNodes: 200_000 };

/** `-l env=prod,tier in (a,b)` as the LabelSelector the kubeconfigs route takes (parsed by Flotilla's own parser). */
export function selectorObject(selector: string): LabelSelector {
  let requirements;
  try {
    requirements = parseLabelSelector(selector);
  } catch (error) {
    if (error instanceof FlotillaError) throw new CliError(ExitCode.Usage, `-l: ${error.message}`, ['e.g. -l env=prod or -l "tier in (a,b),!legacy"']);
    throw error;
  }
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector['matchExpressions']> = [];
  for (const r of requirements) {
    if (r.operator === 'In' && r.values.length === 1 && matchLabels[r.key] === undefined) matchLabels[r.key] = r.values[0]!;
    else matchExpressions.push('values' in r ? { key: r.key, operator: r.operator, values: r.values } : { key: r.key, operator: r.operator });
  }
  return { ...(Object.keys(matchLabels).length ? { matchLabels } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
}

/** Parses a kubeconfig (the server's answer, or your file to merge into) under the bounded parser. */
export function parseKubeconfig(text: string, what: string): KubeconfigDoc {
  let doc: unknown;
  try {
    doc = parseYamlBounded(text, what, LIMITS);
  } catch (error) {
    if (error instanceof ParseLimitError) throw new CliError(ExitCode.Refused, error.message, [`check ${what}: it must be one kubeconfig document`]);
    throw error;
  }
  if (doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(ExitCode.Refused, `${what} is not a kubeconfig (a YAML mapping)`);
  const d = doc as KubeconfigDoc;
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = d[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.some((e) => typeof e !== 'object' || e === null || typeof (e as Named).name !== 'string')) {
      throw new CliError(ExitCode.Refused, `${what}: ${key} must be a list of entries with a name`);
    }
  }
  return d;
}

export interface MergeResult {
  doc: KubeconfigDoc;
  added: string[];
  replaced: string[];
}

/**
 * Merges Flotilla's kubeconfig into yours: its clusters, contexts and user replace entries of the
 * same name and are added otherwise. Its user entry is renamed `flotilla-<user>`, so that a user
 * of another cluster with the same name is never overwritten. Your current-context stays; it is
 * set only when you have none.
 */
export function mergeKubeconfig(into: KubeconfigDoc, from: KubeconfigDoc): MergeResult {
  const renamed = new Map((from.users ?? []).map((u) => [u.name, u.name.startsWith('flotilla-') ? u.name : `flotilla-${u.name}`]));
  const users = (from.users ?? []).map((u) => ({ ...u, name: renamed.get(u.name)! }));
  const contexts = (from.contexts ?? []).map((c) => ({ ...c, context: { ...c.context, user: renamed.get(c.context?.user ?? '') ?? c.context?.user } }));
  const doc: KubeconfigDoc = { apiVersion: 'v1', kind: 'Config', preferences: {}, ...into };
  const replaced: string[] = [];
  const upsert = (key: 'clusters' | 'users' | 'contexts', entries: Named[]) => {
    const list = [...(doc[key] ?? [])] as Named[];
    for (const entry of entries) {
      const at = list.findIndex((e) => e.name === entry.name);
      if (at >= 0) {
        list[at] = entry;
        if (key === 'contexts') replaced.push(entry.name);
      } else list.push(entry);
    }
    (doc as Record<string, unknown>)[key] = list;
  };
  upsert('clusters', from.clusters ?? []);
  upsert('users', users);
  upsert('contexts', contexts);
  if (!doc['current-context'] && from['current-context']) doc['current-context'] = from['current-context'];
  const added = contexts.map((c) => c.name).filter((n) => !replaced.includes(n));
  return { doc, added, replaced };
}
