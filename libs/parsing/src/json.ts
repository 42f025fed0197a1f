import { DEFAULT_PARSE_LIMITS, ParseLimitError, type ParseLimits } from './limits';

/** Nesting depth of a JSON text, counted without parsing it (strings are skipped). Stops past `max`. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** JSON.parse under size and depth bounds. `what` names the input in errors (e.g. "request body"). */
export function parseJsonBounded(text: string, what: string, limits: Partial<ParseLimits> = {}): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_PARSE_LIMITS, ...limits };
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new ParseLimitError('size', what, `${what} is larger than ${maxBytes} bytes`);
  if (jsonDepthExceeds(text, maxDepth)) throw new ParseLimitError('depth', what, `${what} nests deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ParseLimitError('syntax', what, `${what} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
}
