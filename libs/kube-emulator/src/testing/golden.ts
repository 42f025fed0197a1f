/** Helpers to compare the emulator with the recordings of a real kube-apiserver (test/golden). */
import { isObject, type JsonValue } from '@flotilla/apply';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GOLDEN_DIR = join(__dirname, '..', '..', 'test', 'golden');

export interface GoldenRecording {
  file: string;
  title: string;
  request: { method: string; path: string; auth: string; headers: Record<string, string>; body: JsonValue };
  response: { status: number; headers: Record<string, string | string[]>; body: JsonValue };
}

export function loadGolden(prefix: string): GoldenRecording {
  const file = readdirSync(GOLDEN_DIR).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!file) throw new Error(`no golden file ${prefix}`);
  return { file, ...(JSON.parse(readFileSync(join(GOLDEN_DIR, file), 'utf8')) as Omit<GoldenRecording, 'file'>) };
}

const VOLATILE = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'time', 'lastTransitionTime', 'expirationTimestamp', 'token', 'continue', 'remainingItemCount', 'buildDate', 'gitCommit', 'goVersion']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Drops volatile fields (uid, resourceVersion, timestamps, tokens …) and masks UUIDs and revisions in messages. */
export function normalize(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'string' && /^\d+[smhdy](\d+[smhd])?$/.test(v)) return '<age>';
  if (typeof v === 'string') return v.replace(UUID, '<uuid>').replace(/\((\d+)\)/g, '(<n>)').replace(/current: \d+/, 'current: <n>');
  if (!isObject(v)) return v;
  const out: { [k: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(v)) {
    if (VOLATILE.has(k)) continue;
    out[k] = normalize(x);
  }
  return out;
}
