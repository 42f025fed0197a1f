/** labelSelector and fieldSelector parsing and matching, with the real server's error texts. */
import { getPath, isObject, type JsonObject, type JsonValue } from '@flotilla/apply';
import { ApiError } from './errors';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' };

export type LabelSelector = Requirement[];

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function badSelector(msg: string): ApiError {
  return new ApiError(400, 'BadRequest', `unable to parse requirement: ${msg}`);
}

export function parseLabelSelector(raw: string | null | undefined): LabelSelector {
  if (!raw) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTopLevel(raw)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*(\S+)$/))) reqs.push({ key: m[1], op: '!' });
    else if ((m = part.match(/^(\S+?)\s*(==|=|!=)\s*(\S*)$/))) reqs.push({ key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] });
    else if ((m = part.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/)))
      reqs.push({
        key: m[1],
        op: m[2] as 'in' | 'notin',
        values: m[3]
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      });
    else if ((m = part.match(/^(\S+)$/))) reqs.push({ key: m[1], op: 'exists' });
    else throw badSelector(`found '${part}', expected: in, notin, =, ==, !=, gt, lt`);
  }
  for (const r of reqs)
    if (!KEY.test(r.key))
      throw badSelector(
        `invalid label key "${r.key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      );
  return reqs;
}

export function matchesLabels(sel: LabelSelector, labels: JsonValue | undefined): boolean {
  const l = isObject(labels) ? labels : {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'in':
        return has && r.values.includes(String(l[r.key]));
      case 'notin':
        return !has || !r.values.includes(String(l[r.key]));
    }
    return false;
  });
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const EXTRA_FIELDS: Record<string, string[]> = {
  '/pods': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  '/secrets': ['type'],
  '/namespaces': ['status.phase'],
  '/nodes': ['spec.unschedulable'],
  '/events': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  'batch/jobs': ['status.successful'],
  '/replicationcontrollers': ['status.replicas'],
  'apps/replicasets': ['status.replicas'],
};

export function parseFieldSelector(raw: string | null | undefined, group: string, resource: string, custom: boolean): FieldRequirement[] {
  if (!raw) return [];
  const out: FieldRequirement[] = [];
  for (const part of splitTopLevel(raw)) {
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid selector: '${raw}'; can't understand '${part}'`);
    const field = m[1].trim();
    const allowed = [...COMMON_FIELDS, ...(EXTRA_FIELDS[`${group}/${resource}`] ?? [])];
    if (!allowed.includes(field)) {
      if (custom) throw new ApiError(400, 'BadRequest', `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
      throw new ApiError(400, 'BadRequest', `field label not supported: ${field}`);
    }
    out.push({ field, value: m[3].trim(), negate: m[2] === '!=' });
  }
  return out;
}

export function matchesFields(reqs: FieldRequirement[], o: JsonObject): boolean {
  return reqs.every((r) => {
    const v = getPath(o, r.field.split('.'));
    const s = v === undefined || v === null ? '' : String(v);
    return r.negate ? s !== r.value : s === r.value;
  });
}
