import { ErrorReason, FlotillaError } from '../errors/flotilla-error';

export interface FieldRequirement {
  field: string;
  operator: 'In' | 'NotIn';
  value: string;
}

/** Parses a field selector; only the fields in `supported` may be selected, as the API server does. */
export function parseFieldSelector(selector: string | undefined, supported: readonly string[]): FieldRequirement[] {
  if (!selector || selector.trim() === '') return [];
  return selector.split(',').map((raw) => {
    const m = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(raw);
    if (!m) {
      throw new FlotillaError(ErrorReason.BadRequest, `invalid field selector "${selector}": expected field=value or field!=value`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'fieldSelector', message: `cannot parse "${raw}"` }],
      });
    }
    const field = m[1]!;
    if (!supported.includes(field)) {
      throw new FlotillaError(ErrorReason.BadRequest, `field label not supported: ${field}`, {
        causes: [{ reason: 'FieldValueNotSupported', field: 'fieldSelector', message: `supported fields: ${supported.join(', ')}` }],
      });
    }
    return { field, operator: m[2] === '!=' ? 'NotIn' : 'In', value: m[3]! };
  });
}
