import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { MAX_SELECTOR_REQUIREMENTS, checkSelectorBounds, quoteSelector } from './label-selector';

export interface FieldRequirement {
  field: string;
  operator: 'In' | 'NotIn';
  value: string;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function trim(text: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && isSpace(text.charCodeAt(a))) a++;
  while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
  return text.slice(a, b);
}

/**
 * Parses a field selector; only the fields in `supported` may be selected, as the API server does.
 * One pass over the text (no regular expressions), at most MAX_SELECTOR_LENGTH characters and
 * MAX_SELECTOR_REQUIREMENTS requirements; errors are BadRequest naming `fieldSelector`.
 */
export function parseFieldSelector(selector: string | undefined, supported: readonly string[]): FieldRequirement[] {
  if (!selector || selector.trim() === '') return [];
  checkSelectorBounds(selector, 'fieldSelector');
  const requirements: FieldRequirement[] = [];
  let start = 0;
  while (start <= selector.length) {
    let end = selector.indexOf(',', start);
    if (end < 0) end = selector.length;
    if (requirements.length === MAX_SELECTOR_REQUIREMENTS) {
      const message = `must have at most ${MAX_SELECTOR_REQUIREMENTS} requirements`;
      throw new FlotillaError(ErrorReason.BadRequest, `fieldSelector has too many requirements: ${message}`, { causes: [{ reason: 'TooMany', field: 'fieldSelector', message }] });
    }
    requirements.push(parseRequirement(selector, start, end, supported));
    start = end + 1;
  }
  return requirements;
}

function parseRequirement(selector: string, from: number, to: number, supported: readonly string[]): FieldRequirement {
  // The operator is the first "=" or "!" of the requirement: "==", "!=" or "=".
  let op = from;
  while (op < to && selector.charCodeAt(op) !== 0x3d && selector.charCodeAt(op) !== 0x21) op++;
  const c = selector.charCodeAt(op);
  const next = selector.charCodeAt(op + 1);
  const operator = c === 0x21 && next === 0x3d ? '!=' : c === 0x3d && next === 0x3d ? '==' : c === 0x3d ? '=' : '';
  const field = trim(selector, from, op);
  const invalid = () => {
    const raw = selector.slice(from, to);
    return new FlotillaError(ErrorReason.BadRequest, `invalid field selector ${quoteSelector(selector)}: expected field=value or field!=value`, {
      causes: [{ reason: 'FieldValueInvalid', field: 'fieldSelector', message: `cannot parse ${quoteSelector(raw)}` }],
    });
  };
  if (operator === '' || op >= to || field === '' || /* a space inside the field name */ hasSpace(field)) throw invalid();
  if (!supported.includes(field)) {
    throw new FlotillaError(ErrorReason.BadRequest, `field label not supported: ${field.length > 100 ? `${field.slice(0, 100)}…` : field}`, {
      causes: [{ reason: 'FieldValueNotSupported', field: 'fieldSelector', message: `supported fields: ${supported.join(', ')}` }],
    });
  }
  return { field, operator: operator === '!=' ? 'NotIn' : 'In', value: trim(selector, op + operator.length, to) };
}

function hasSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isSpace(text.charCodeAt(i))) return true;
  return false;
}
