import type { ErrorCause } from '../errors/flotilla-error';

/** Collects Kubernetes StatusCauses for the federation validators; values are quoted short, never secret ones. */
export class Causes {
  readonly list: ErrorCause[] = [];
  required(field: string, what: string): void {
    this.list.push({ reason: 'FieldValueRequired', message: `Required value: ${what}`, field });
  }
  invalid(field: string, value: unknown, why: string): void {
    this.list.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown(value)}: ${why}`, field });
  }
  /** Like invalid, for a value that must not be echoed (a Secret's data). */
  invalidSecret(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueInvalid', message: `Invalid value: (redacted): ${why}`, field });
  }
  notSupported(field: string, value: unknown, supported: readonly string[], hint = ''): void {
    const list = supported.map((s) => `"${s}"`).join(', ');
    this.list.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown(value)}: supported values: ${list}${hint ? `; ${hint}` : ''}`, field });
  }
  forbidden(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field });
  }
  duplicate(field: string, value: unknown, hint: string): void {
    this.list.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${shown(value)}: ${hint}`, field });
  }
  tooLong(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueTooLong', message: `Too long: ${why}`, field });
  }
  tooMany(field: string, why: string): void {
    this.list.push({ reason: 'TooMany', message: `Too many: ${why}`, field });
  }
}

/** A value as quoted in a message: strings up to 80 characters, other values as short JSON. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return JSON.stringify(value);
}

export type Json = Record<string, unknown>;
export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
