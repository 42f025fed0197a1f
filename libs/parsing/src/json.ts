import { checkSize, ParseLimitError, resolveLimits, type ParseLimits } from './limits';

/**
 * True when a JSON text nests deeper than `max`, counted in one pass without parsing it (strings
 * are skipped; a stray closer never takes the count below zero, so it cannot hide openers).
 */
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
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
  }
  return false;
}

/**
 * JSON.parse under size and depth bounds. `what` names the input in errors (e.g. "the request body").
 * Throws ParseLimitError: size, depth, or syntax (with a short reason, never the text itself).
 */
export function parseJsonBounded(text: string, what: string, limits: Partial<ParseLimits> = {}): unknown {
  const { maxBytes, maxDepth } = resolveLimits(limits);
  checkSize(text, what, maxBytes);
  if (jsonDepthExceeds(text, maxDepth)) throw new ParseLimitError('depth', what, `nests deeper than ${maxDepth} levels`, { limit: maxDepth });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ParseLimitError('syntax', what, `is not valid JSON: ${shortReason((error as Error).message)}`);
  }
}

/** V8's JSON messages quote the input ("Unexpected token 'x', "...abc..." is not valid JSON"): keep the reason only. */
function shortReason(message: string): string {
  const quoted = message.indexOf(', "');
  const reason = quoted > 0 ? message.slice(0, quoted) : message;
  return reason.length > 120 ? `${reason.slice(0, 120)}…` : reason;
}
