import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { labelValueErrors, qualifiedNameErrors } from '../cluster/names';

/** One requirement of a Kubernetes label selector. */
export type LabelRequirement =
  | { key: string; operator: 'Exists' | 'DoesNotExist' }
  | { key: string; operator: 'In' | 'NotIn'; values: string[] };

function bad(selector: string, why: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `unable to parse requirement: invalid label selector "${selector}": ${why}`, {
    causes: [{ reason: 'FieldValueInvalid', field: 'labelSelector', message: why }],
  });
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of input) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function checkKey(selector: string, key: string): string {
  const trimmed = key.trim();
  const errors = qualifiedNameErrors(trimmed);
  if (errors.length > 0) throw bad(selector, `key "${trimmed}": ${errors[0]}`);
  return trimmed;
}

function checkValue(selector: string, value: string): string {
  const trimmed = value.trim();
  const errors = labelValueErrors(trimmed);
  if (errors.length > 0) throw bad(selector, `value "${trimmed}": ${errors[0]}`);
  return trimmed;
}

/** Parses the label selector syntax of the Kubernetes API (=, ==, !=, in, notin, exists, !exists). */
export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (!selector || selector.trim() === '') return [];
  const requirements: LabelRequirement[] = [];
  for (const raw of splitTopLevel(selector)) {
    const part = raw.trim();
    if (part === '') throw bad(selector, 'found an empty requirement');
    const setMatch = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (setMatch) {
      const values = setMatch[3]!.split(',').map((v) => checkValue(selector, v));
      requirements.push({ key: checkKey(selector, setMatch[1]!), operator: setMatch[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    const cmp = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (cmp) {
      const value = checkValue(selector, cmp[3]!);
      requirements.push({ key: checkKey(selector, cmp[1]!), operator: cmp[2] === '!=' ? 'NotIn' : 'In', values: [value] });
      continue;
    }
    if (part.startsWith('!')) {
      requirements.push({ key: checkKey(selector, part.slice(1)), operator: 'DoesNotExist' });
      continue;
    }
    if (/[\s()=]/.test(part)) throw bad(selector, `cannot parse "${part}"`);
    requirements.push({ key: checkKey(selector, part), operator: 'Exists' });
  }
  return requirements;
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'In':
        return has && r.values.includes(l[r.key]!);
      case 'NotIn':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}
