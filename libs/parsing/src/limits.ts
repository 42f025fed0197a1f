/** Bounds applied to every YAML or JSON text Flotilla reads from outside. */
export interface ParseLimits {
  /** Largest accepted text, in bytes (UTF-8). */
  maxBytes: number;
  /** Deepest accepted nesting of arrays/objects (flow or block). */
  maxDepth: number;
  /** YAML: most alias nodes (`*name`) accepted. 0 refuses every alias (the root of "billion laughs" bombs). */
  maxAliases: number;
  /** YAML: most documents (non-empty, separated by `---`) accepted. */
  maxDocuments: number;
  /** YAML: most lines and structural elements (entries, collections, anchors, tags), and most nodes; bounds the parse time whatever the shape. */
  maxNodes: number;
}

/**
 * The defaults, chosen for Flotilla's inputs: a Cluster body carries a kubeconfig of at most 1 MiB,
 * base64 makes it 1.4 MiB, so 3 MiB leaves room; no Kubernetes object or kubeconfig nests beyond a
 * dozen levels; a kubeconfig never needs aliases; a kubeconfig of 50 contexts has about 2,500
 * lines and structural elements, and the YAML library needs up to 0.15 s for 5,000.
 */
export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxBytes: 3 * 1024 * 1024, maxDepth: 64, maxAliases: 0, maxDocuments: 1, maxNodes: 5_000 };

export type ParseLimitKind = 'size' | 'depth' | 'syntax' | 'aliases' | 'documents' | 'nodes';

/** What a refusal measured: the limit crossed, and where known the count found or the position (1-based). */
export interface ParseLimitFacts {
  limit?: number;
  found?: number;
  line?: number;
  col?: number;
}

/**
 * A text refused by a bounded parser. `what` names the input ("the request body"), `detail` says
 * what is wrong without naming it ("nests deeper than 64 levels"); `message` is both.
 * Messages never quote more than a short excerpt of the refused text.
 */
export class ParseLimitError extends Error {
  constructor(
    readonly kind: ParseLimitKind,
    readonly what: string,
    readonly detail: string,
    readonly facts: ParseLimitFacts = {},
  ) {
    super(`${what} ${detail}`);
    this.name = 'ParseLimitError';
  }
}

/** Merges caller limits over the defaults, refusing nonsense (a bug in the caller, not bad input). */
export function resolveLimits(limits: Partial<ParseLimits> = {}): ParseLimits {
  const out = { ...DEFAULT_PARSE_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof ParseLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`parse limit ${key} must be a non-negative integer, got ${String(value)}`);
    out[key] = value;
  }
  return out;
}

/** 1048576 -> "1 MiB", 3145728 -> "3 MiB", 1500 -> "1500 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Refuses a text longer than `maxBytes` without encoding it (a UTF-16 unit is at most 3 UTF-8 bytes). */
export function checkSize(text: string, what: string, maxBytes: number): void {
  if (text.length <= maxBytes / 3) return;
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new ParseLimitError('size', what, `is larger than ${formatBytes(maxBytes)}`, { limit: maxBytes });
  }
}
