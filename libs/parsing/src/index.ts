// The one bounded parser for YAML and JSON read from outside: REST bodies, kubeconfigs, member answers, job payloads.
export { DEFAULT_PARSE_LIMITS, ParseLimitError, formatBytes } from './limits';
export type { ParseLimitFacts, ParseLimitKind, ParseLimits } from './limits';
export { jsonDepthExceeds, parseJsonBounded } from './json';
export { parseYamlBounded, parseYamlDocumentsBounded } from './yaml';
export { prescanYaml } from './yaml-prescan';
export type { YamlShape } from './yaml-prescan';
