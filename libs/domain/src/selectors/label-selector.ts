import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { labelValueErrors, qualifiedNameErrors } from '../cluster/names';
import type { LabelSelector } from '../iam/iam';

/** One requirement of a Kubernetes label selector. */
export type LabelRequirement =
  | { key: string; operator: 'Exists' | 'DoesNotExist' }
  | { key: string; operator: 'In' | 'NotIn'; values: string[] };

/**
 * Bounds on a selector (label or field). Kubernetes sets none beyond the URL length; Flotilla refuses
 * longer selectors because every watcher and every list matches each object against them: 4 KiB holds
 * an `in` set of about 200 names, and 100 requirements is more than any query needs.
 */
export const MAX_SELECTOR_LENGTH = 4096;
export const MAX_SELECTOR_REQUIREMENTS = 100;

/** The selector as quoted in an error: never more than 100 characters of it. */
export function quoteSelector(selector: string): string {
  return JSON.stringify(selector.length > 100 ? `${selector.slice(0, 100)}…` : selector);
}

function bad(selector: string, why: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `unable to parse requirement: invalid label selector ${quoteSelector(selector)}: ${why}`, {
    causes: [{ reason: 'FieldValueInvalid', field: 'labelSelector', message: why }],
  });
}

/** Refuses a selector over the length limit, or with more requirements than the limit, naming the parameter and the limit. */
export function checkSelectorBounds(selector: string, parameter: 'labelSelector' | 'fieldSelector'): void {
  if (selector.length > MAX_SELECTOR_LENGTH) {
    const message = `must be at most ${MAX_SELECTOR_LENGTH} characters, got ${selector.length}: select by fewer values, or list without a selector and filter`;
    throw new FlotillaError(ErrorReason.BadRequest, `${parameter} is too long: ${message}`, { causes: [{ reason: 'FieldValueTooLong', field: parameter, message }] });
  }
}

function tooMany(parameter: 'labelSelector' | 'fieldSelector'): FlotillaError {
  const message = `must have at most ${MAX_SELECTOR_REQUIREMENTS} requirements`;
  return new FlotillaError(ErrorReason.BadRequest, `${parameter} has too many requirements: ${message}`, { causes: [{ reason: 'TooMany', field: parameter, message }] });
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: '=' | '==' | '!=' | '!' | '(' | ')' | ','; text: string }
  | { kind: 'end'; text: '' };

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
/** Characters that end a word: whitespace and = ! ( ) , */
const isSpecial = (c: number) => c === 0x3d || c === 0x21 || c === 0x28 || c === 0x29 || c === 0x2c;

/** Splits a selector into tokens in one pass (no regular expressions, no backtracking). */
function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = selector.length;
  while (i < n) {
    const c = selector.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 0x3d) {
      if (selector.charCodeAt(i + 1) === 0x3d) {
        tokens.push({ kind: '==', text: '==' });
        i += 2;
      } else {
        tokens.push({ kind: '=', text: '=' });
        i++;
      }
      continue;
    }
    if (c === 0x21) {
      if (selector.charCodeAt(i + 1) === 0x3d) {
        tokens.push({ kind: '!=', text: '!=' });
        i += 2;
      } else {
        tokens.push({ kind: '!', text: '!' });
        i++;
      }
      continue;
    }
    if (c === 0x28 || c === 0x29 || c === 0x2c) {
      const text = selector[i] as '(' | ')' | ',';
      tokens.push({ kind: text, text });
      i++;
      continue;
    }
    const start = i;
    while (i < n && !isSpace(selector.charCodeAt(i)) && !isSpecial(selector.charCodeAt(i))) i++;
    tokens.push({ kind: 'word', text: selector.slice(start, i) });
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

/**
 * Parses the label selector syntax of the Kubernetes API (=, ==, !=, in, notin, exists, !exists), in
 * time linear in its length, which is limited to MAX_SELECTOR_LENGTH characters and
 * MAX_SELECTOR_REQUIREMENTS requirements. Errors are BadRequest naming `labelSelector`.
 */
export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (!selector) return [];
  checkSelectorBounds(selector, 'labelSelector');
  const tokens = tokenize(selector);
  if (tokens.length === 1) return [];
  let at = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;
  const describe = (t: Token) => (t.kind === 'end' ? 'the end of the selector' : `"${t.text}"`);

  const key = (): string => {
    const t = next();
    if (t.kind !== 'word') throw bad(selector, t.kind === ',' || t.kind === 'end' ? 'found an empty requirement' : `expected a label key, found ${describe(t)}`);
    if (t.text.length > 317) throw bad(selector, `key "${t.text.slice(0, 40)}…": must be no more than 317 characters (a 253-character prefix, "/" and a 63-character name)`);
    const errors = qualifiedNameErrors(t.text);
    if (errors.length > 0) throw bad(selector, `key "${t.text}": ${errors[0]}`);
    return t.text;
  };
  const value = (t: Token): string => {
    if (t.text.length > 63) throw bad(selector, `value "${t.text.slice(0, 40)}…": must be no more than 63 characters`);
    const errors = labelValueErrors(t.text);
    if (errors.length > 0) throw bad(selector, `value "${t.text}": ${errors[0]}`);
    return t.text;
  };

  const requirements: LabelRequirement[] = [];
  for (;;) {
    if (requirements.length === MAX_SELECTOR_REQUIREMENTS) throw tooMany('labelSelector');
    if (peek().kind === '!') {
      next();
      requirements.push({ key: key(), operator: 'DoesNotExist' });
    } else {
      const k = key();
      const op = peek();
      if (op.kind === '=' || op.kind === '==' || op.kind === '!=') {
        next();
        // An empty value is allowed (`env=`): the next token is then a comma or the end.
        const v = peek().kind === 'word' ? value(next()) : '';
        requirements.push({ key: k, operator: op.kind === '!=' ? 'NotIn' : 'In', values: [v] });
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.kind !== '(') throw bad(selector, `expected "(" after ${op.text}, found ${describe(open)}`);
        const values: string[] = [];
        for (;;) {
          const t = next();
          if (t.kind === 'word') values.push(value(t));
          else if (t.kind === ',' || t.kind === ')') values.push('');
          else throw bad(selector, `expected a value or ")" in the ${op.text} set, found ${describe(t)}`);
          const sep = t.kind === 'word' ? next() : t;
          if (sep.kind === ')') break;
          if (sep.kind !== ',') throw bad(selector, `expected "," or ")" in the ${op.text} set, found ${describe(sep)}`);
        }
        requirements.push({ key: k, operator: op.text === 'in' ? 'In' : 'NotIn', values: dedupe(values) });
      } else if (op.kind === ',' || op.kind === 'end') {
        requirements.push({ key: k, operator: 'Exists' });
      } else {
        throw bad(selector, `cannot parse requirement for key "${k}": expected =, ==, !=, in or notin, found ${describe(op)}`);
      }
    }
    const sep = next();
    if (sep.kind === 'end') return requirements;
    if (sep.kind !== ',') throw bad(selector, `expected "," between requirements, found ${describe(sep)}`);
  }
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
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

/**
 * A LabelSelector object ({matchLabels, matchExpressions}) in the label-selector syntax
 * parseLabelSelector reads (`env=prod,tier in (a,b),!legacy`), as a list's labelSelector takes it.
 * The empty selector ({}) is the empty string: it selects everything, as in Kubernetes. Check keys
 * and values first (qualifiedNameErrors, labelValueErrors): then no separator can hide in them.
 * Refuse In and NotIn without values before calling: `key in ()` would read back, as in
 * Kubernetes, as `key in ("")`, not as an error.
 */
export function labelSelectorString(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) parts.push(`${key}=${value}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

/**
 * A LabelSelector object as requirements, with Kubernetes semantics: `{}` selects everything
 * (no requirement); a missing selector is `undefined` (selects nothing by itself). A selector that
 * cannot be read (an unknown operator, In/NotIn without values, a non-string) is `null`: callers
 * match nothing with it (fail closed). The one reading of stored selectors, so the authorizer and
 * the member impersonation sync always agree on which clusters a binding selects.
 */
export function labelSelectorRequirements(selector: LabelSelector | undefined | null): LabelRequirement[] | null | undefined {
  if (selector === undefined || selector === null) return undefined;
  if (typeof selector !== 'object') return null;
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (typeof value !== 'string') return null;
    requirements.push({ key, operator: 'In', values: [value] });
  }
  for (const e of selector.matchExpressions ?? []) {
    if (typeof e?.key !== 'string') return null;
    if (e.operator === 'Exists' || e.operator === 'DoesNotExist') requirements.push({ key: e.key, operator: e.operator });
    else if ((e.operator === 'In' || e.operator === 'NotIn') && Array.isArray(e.values) && e.values.length > 0 && e.values.every((v) => typeof v === 'string')) {
      requirements.push({ key: e.key, operator: e.operator, values: e.values });
    } else return null;
  }
  return requirements;
}

/** Whether a stored LabelSelector selects these labels (missing or unreadable: no). */
export function labelSelectorMatches(selector: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  const requirements = labelSelectorRequirements(selector);
  return Array.isArray(requirements) && matchesLabels(requirements, labels);
}
