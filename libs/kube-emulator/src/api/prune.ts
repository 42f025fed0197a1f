/** Unknown-field detection (fieldValidation) and pruning against the structural schema. */
import { isObject, type JsonObject, type JsonValue, type Schema } from '@flotilla/apply';

/** Removes fields the schema does not know and returns their paths (`spec.foo`, `spec.containers[0].bar`). */
export function pruneUnknown(o: JsonObject, schema: Schema | undefined): string[] {
  const found: string[] = [];
  const walk = (v: JsonValue, s: Schema, path: string): void => {
    if (s.t === 'struct' && isObject(v)) {
      for (const k of Object.keys(v)) {
        const child = s.fields[k];
        const p = path ? `${path}.${k}` : k;
        if (!child) {
          found.push(p);
          delete v[k];
        } else walk(v[k], child, p);
      }
    } else if (s.t === 'map' && isObject(v)) {
      for (const k of Object.keys(v)) walk(v[k], s.elem, path ? `${path}.${k}` : k);
    } else if (s.t === 'list' && Array.isArray(v)) {
      v.forEach((item, i) => walk(item, s.elem, `${path}[${i}]`));
    }
  };
  if (schema) walk(o, schema, '');
  return found;
}
