/**
 * Text that goes into errors, records and logs about a member: URLs without their userinfo,
 * and the member's own words truncated, cleaned and marked as the member's.
 */

/** The most of a member's text copied into an error. */
export const MEMBER_TEXT_LIMIT = 256;

/**
 * A URL (or any text holding URLs) without `user:password@`. Works on text that does not parse
 * as a URL too, since a refused server string is echoed back to its author.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/)[^/?#\s@]*@/g, '$1');
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+/g;

/** Text with control characters (newlines, escapes, bidi overrides) replaced by one space, cut to `limit`. */
export function cleanText(text: string, limit = MEMBER_TEXT_LIMIT): string {
  const flat = text.replace(CONTROL, ' ').replace(/\s{2,}/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
}

/** A member's text as it may appear in an error: "the member said: ...", cleaned and truncated. */
export function memberSaid(text: unknown, limit = MEMBER_TEXT_LIMIT): string {
  const s = typeof text === 'string' ? text : text === undefined || text === null ? '' : JSON.stringify(text) ?? '';
  const clean = cleanText(s, limit);
  return clean ? `the member said: "${clean}"` : 'the member gave no reason';
}
