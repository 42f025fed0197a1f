// The one bounded parser for YAML and JSON read from outside: REST bodies, kubeconfigs, member answers, job payloads.
export { DEFAULT_PARSE_LIMITS, ParseLimitError } from './limits';
export type { ParseLimitKind, ParseLimits } from './limits';
export { jsonDepthExceeds, parseJsonBounded } from './json';
